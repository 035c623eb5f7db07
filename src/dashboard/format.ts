// Small pieces every screen shows the same way: times, sizes, statuses.
import type { RecipientStatus } from '../store/store.ts';
import { html, type Html } from './html.ts';

/** Exact UTC in the markup and on hover; app.js rewrites the text into the viewer's time zone. */
export function time(ms: number): Html {
  const iso = new Date(ms).toISOString();
  const utc = iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return html`<time datetime="${iso}" title="${utc}">${utc}</time>`;
}

export function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function duration(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export const STATUSES: readonly RecipientStatus[] = ['queued', 'deferred', 'delivered', 'bounced', 'expired', 'suppressed', 'sandboxed', 'cancelled'];

export const status = (s: string): Html => html`<span class="status status-${s}">${s}</span>`;
