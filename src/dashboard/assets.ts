// Static files of the dashboard, served by smarthost itself (no CDN, no outside
// fonts): our stylesheet and script, and htmx from node_modules. URLs carry a
// hash of the content, so browsers may cache them for a year.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

const OWN_DIR = join(dirname(fileURLToPath(import.meta.url)), 'assets');
const HTMX_DIR = join(dirname(createRequire(import.meta.url).resolve('htmx.org/package.json')), 'dist');
const FILES: Record<string, string> = {
  'app.css': join(OWN_DIR, 'app.css'),
  'app.js': join(OWN_DIR, 'app.js'),
  'htmx.min.js': join(HTMX_DIR, 'htmx.min.js'),
};

const versions = new Map(Object.entries(FILES).map(([name, path]) =>
  [name, createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 12)]));

export const assetUrl = (name: keyof typeof FILES & string): string => `/ui/assets/${name}?v=${versions.get(name)}`;

export async function assetRoutes(app: FastifyInstance): Promise<void> {
  // @fastify/static takes no route config: mark its routes public here.
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, access: 'public' };
  });
  // One route for both folders, first match wins; only these three files are served.
  await app.register(fastifyStatic, {
    root: [OWN_DIR, HTMX_DIR], prefix: '/assets/', maxAge: '365d', immutable: true, allowedPath: (path) => path.slice(1) in FILES,
  });
}
