// The overview's numbers for the last hour, day or week: accepted and outcomes
// per bucket, queue depth, delivery latency percentiles and the most frequent
// failure reasons with their explanation (doctor/explain.ts).
import { formatReply, type SmtpReply } from '../delivery/smtp-reply.ts';
import { explainReply, type Category } from '../doctor/explain.ts';
import type { RecipientStatus, Store } from '../store/store.ts';

export const STATS_WINDOWS = {
  hour: { span: 3_600_000, buckets: 12 },
  day: { span: 86_400_000, buckets: 24 },
  week: { span: 7 * 86_400_000, buckets: 28 },
} as const;
export type StatsWindow = keyof typeof STATS_WINDOWS;

/** Latency percentiles come from at most this many of the window's newest deliveries, so a busy week costs the same as a quiet hour. */
const LATENCY_SAMPLE = 2_000;
const TOP_REASONS = 10;

export interface Overview {
  window: StatsWindow;
  from: number;
  to: number;
  bucketMs: number;
  buckets: { start: number; accepted: number; delivered: number; deferred: number; bounced: number }[];
  queue: Partial<Record<RecipientStatus, number>>;
  latency: { p50Ms: number | null; p95Ms: number | null; sample: number };
  reasons: {
    type: 'deferred' | 'bounced'; count: number; category: Category; reply: string | null; meaning: string; remedy: string;
  }[];
}

/**
 * How long one computation serves every request for that window in this process: the week's queries read
 * every event of the week from covering indexes (~150 ms at 100,000 messages here), so a dashboard that
 * refreshes, or several open at once, must not repeat them on every request. Concurrent requests share one.
 * A result is reused for at most REUSE_PER_COST times what it cost, so the overview never takes more than a
 * small share of a core however often it is asked, while a small queue's numbers (a few ms) are always fresh:
 * an operator who just sent a message sees it counted.
 */
const REUSE_MS: Record<StatsWindow, number> = { hour: 5_000, day: 30_000, week: 60_000 };
const REUSE_PER_COST = 20;
const recent = new WeakMap<Store, Map<StatsWindow, { at: number; reuseMs: number; overview: Promise<Overview> }>>();

/** Nearest-rank percentile of an ascending list. */
export const percentile = (sorted: readonly number[], p: number): number | null =>
  sorted.length ? sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]! : null;

export function overview(store: Store, window: StatsWindow, now = Date.now()): Promise<Overview> {
  let byWindow = recent.get(store);
  if (!byWindow) recent.set(store, (byWindow = new Map()));
  const hit = byWindow.get(window);
  if (hit && now - hit.at < hit.reuseMs) return hit.overview;
  const started = performance.now();
  const computed = compute(store, window, now);
  // Until it is done, every request shares this computation.
  const entry = { at: now, reuseMs: Infinity, overview: computed };
  byWindow.set(window, entry);
  computed.then(
    () => (entry.reuseMs = Math.min(REUSE_MS[window], (performance.now() - started) * REUSE_PER_COST)),
    // A failure is not kept: the next request tries again.
    () => byWindow.get(window) === entry && byWindow.delete(window),
  );
  return computed;
}

async function compute(store: Store, window: StatsWindow, now: number): Promise<Overview> {
  const { span, buckets } = STATS_WINDOWS[window];
  const bucketMs = span / buckets;
  // Buckets end on a multiple of their width, so a refresh within a bucket shows the same boundaries.
  const to = Math.ceil((now + 1) / bucketMs) * bucketMs;
  const from = to - span;
  const [stats, queue] = await Promise.all([
    store.deliveryStats({ from, to, buckets, topReasons: TOP_REASONS, latencySample: LATENCY_SAMPLE }),
    store.countByStatus(),
  ]);
  return {
    window, from, to, bucketMs, buckets: stats.buckets, queue,
    latency: { p50Ms: percentile(stats.latenciesMs, 50), p95Ms: percentile(stats.latenciesMs, 95), sample: stats.latenciesMs.length },
    reasons: stats.reasons.map((r) => {
      const reply = r.code !== null ? { code: r.code, enhanced: (r.enhanced ?? `${String(r.code)[0]}.0.0`) as SmtpReply['enhanced'], text: r.sample ?? '' } : undefined;
      const explained = reply ? explainReply(reply) : { category: 'other' as const, meaning: 'no reply recorded', remedy: 'see the message timeline' };
      return {
        type: r.type, count: r.count, category: r.category ?? explained.category,
        reply: reply ? formatReply(reply) : null, meaning: explained.meaning, remedy: explained.remedy,
      };
    }),
  };
}
