// smtp-server has no brute-force limit: count AUTH failures per client address
// in a sliding window. Memory is bounded: old entries are dropped as they age.
export class AuthThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly limit: number, private readonly windowMs: number, private readonly maxTracked = 100_000) {}

  /** True while the address has reached the limit within the window. */
  locked(ip: string, now = Date.now()): boolean {
    return this.recent(ip, now).length >= this.limit;
  }

  recordFailure(ip: string, now = Date.now()): void {
    const list = this.recent(ip, now);
    list.push(now);
    this.failures.set(ip, list);
    if (this.failures.size > this.maxTracked) this.prune(now);
  }

  private recent(ip: string, now: number): number[] {
    const list = (this.failures.get(ip) ?? []).filter((t) => now - t < this.windowMs);
    if (list.length === 0) this.failures.delete(ip);
    return list;
  }

  private prune(now: number): void {
    for (const ip of this.failures.keys()) this.recent(ip, now);
    // Still too many distinct addresses: forget the oldest (Map keeps insertion order).
    for (const ip of this.failures.keys()) {
      if (this.failures.size <= this.maxTracked) break;
      this.failures.delete(ip);
    }
  }
}
