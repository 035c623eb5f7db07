// Debian's Chromium driven by playwright-core (never a downloaded browser),
// headless, with a fresh profile, and with the features that reach out to the
// network turned off: on a machine without outside network they hang.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'test-output', 'screenshots');

/** Skips the test without Chromium, except under CI=true, where a missing browser is a failure. */
export function chromiumMissing(): string | false {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: run scripts/test-deps.sh (apt-get install chromium)`);
  return `${CHROMIUM} is not installed (scripts/test-deps.sh installs it)`;
}

export async function launchBrowser(
  t: TestContext, viewport = { width: 1280, height: 900 }, colorScheme: 'light' | 'dark' = 'light',
): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'smarthost-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    colorScheme,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  // Registered first, so it runs after the smarthost started later is stopped; it runs on failure too.
  t.after(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return context;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Every script error and CSP violation the page reports: the dashboard must cause none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
  return errors;
}
