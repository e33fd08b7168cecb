/**
 * A token bucket: `perSecond` events on average, up to `burst` at once. Run by the relay
 * for a sink's `rate_limit` (e.g. Slack's one message per second per incoming webhook).
 */
export class RateLimiter {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.updatedAt = now();
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.perSecond);
    this.updatedAt = now;
  }

  /** Whole tokens available now (how many events a batch may take without waiting). */
  available(): number {
    this.refill();
    return Math.floor(this.tokens);
  }

  /** Returns tokens taken and not used (the write did not happen). */
  giveBack(count = 1): void {
    this.refill();
    this.tokens = Math.min(this.burst, this.tokens + count);
  }

  /** Takes `count` tokens; returns how long to wait (ms) before using them, 0 when none. */
  take(count = 1): number {
    this.refill();
    this.tokens -= count;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.perSecond) * 1000);
  }
}
