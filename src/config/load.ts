// Loads settings from an optional JSON config file and SMARTHOST_* environment
// variables (environment wins), validates them with one schema and reports
// every bad value at once.
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { providerEnvName, providersInput } from './providers.ts';
import { configSchema, envName, type Config } from './schema.ts';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const KEYS = Object.keys(configSchema.shape) as (keyof typeof configSchema.shape)[];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  let fromFile: Record<string, unknown> = {};
  const file = env.SMARTHOST_CONFIG;
  if (file) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      for (const key of Object.keys(fromFile))
        if (!(KEYS as string[]).includes(key)) problems.push(`${file}: unknown setting "${key}"`);
    } catch (err) {
      problems.push(`SMARTHOST_CONFIG: cannot read ${file}: ${(err as Error).message}`);
    }
  }
  const input: Record<string, unknown> = { ...fromFile };
  for (const key of KEYS) {
    const value = env[envName(key)];
    if (value !== undefined) input[key] = value;
  }
  input.providers = providersInput(env, fromFile.providers);
  // Platforms (Heroku, Render, Railway, …) attach PostgreSQL as plain DATABASE_URL; an explicit setting wins.
  const platformDatabase = input.databaseUrl === undefined && env.DATABASE_URL !== undefined;
  if (platformDatabase) input.databaseUrl = env.DATABASE_URL;
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0] ?? '');
      const [, provider, field] = issue.path.map(String);
      const providerEnv = key === 'providers' && provider && field ? providerEnvName(provider, field) : undefined;
      const shown = key === 'providers' && (!providerEnv || env[providerEnv] === undefined) && file ? `${file}: ${issue.path.join('.')}`
        : providerEnv ? providerEnv
        : key === 'databaseUrl' && platformDatabase ? 'DATABASE_URL'
        : key in fromFile && env[envName(key)] === undefined ? `${file}: ${key}` : envName(key);
      // Nested settings (routes.rules[1].routes) name the part that is wrong; provider names above already do.
      const inner = key === 'providers' ? '' : issue.path.slice(1).map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
      problems.push(`${shown}${inner ? ` ${inner}` : ''}: ${issue.message}`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  const config = parsed.data!;
  if (!config.hostname) config.hostname = osHostname();
  return config;
}
