import type pg from 'pg';
import { prepared, transaction } from './pool.js';

/**
 * Keeps this replica's leases alive while their writes run: every third of the lease,
 * one statement moves the expiry of every lane still held. A lane is held from claim to
 * settle; if the renewals fail (PostgreSQL unreachable) the leases run out and another
 * replica takes the lanes over, which at-least-once allows. A renewal that finds a lane's
 * token gone (taken over meanwhile) marks it lost: its runner stops before the next event.
 * So does a lane none of whose renewals succeeded for lease_ms (errors, a partition): by then
 * its lease has run out on the server and another replica may be writing it.
 */
export class LeaseKeeper {
  /** token -> sink, for the lanes claimed and not yet settled. */
  private readonly held = new Map<string, string>();
  /** Tokens a renewal found taken over, until their settle. */
  private readonly lost = new Set<string>();
  /**
   * token -> when (performance.now()) the claim or the last renewal the server confirmed was
   * sent: the server's expiry is at most lease_ms after it. Monotonic, not the store's clock.
   */
  private readonly confirmedAt = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pool: pg.Pool,
    private readonly leaseMs: number,
    private readonly now: () => number,
    private readonly owner: string,
  ) {
    this.timer = setInterval(() => void this.renew().catch(() => undefined), Math.max(10, Math.floor(leaseMs / 3)));
    this.timer.unref();
  }

  /** `claimedAt`: performance.now() when the claim that set the lease was sent. */
  hold(token: string, sink: string, claimedAt: number): void {
    this.held.set(token, sink);
    this.confirmedAt.set(token, claimedAt);
  }

  release(token: string): void {
    this.held.delete(token);
    this.lost.delete(token);
    this.confirmedAt.delete(token);
  }

  /** Whether a renewal found this lane taken over, or no renewal succeeded for lease_ms. */
  isLost(token: string): boolean {
    if (this.lost.has(token)) return true;
    const confirmed = this.confirmedAt.get(token);
    return confirmed !== undefined && performance.now() - confirmed >= this.leaseMs;
  }

  /** Extends every held lease; returns how many lanes were still ours (the others are marked lost). */
  async renew(): Promise<number> {
    const tokens = [...this.held.keys()].filter((token) => !this.lost.has(token));
    if (tokens.length === 0) return 0;
    const sentAt = performance.now();
    const renewed = await transaction(
      this.pool,
      async (client) =>
        (
          // Rows locked in (sink, job_id) order first, as settles and ingress lock them: never a deadlock.
          await prepared<{ token: number }>(client, 'lease_renew_ordered',
            `WITH mine AS (SELECT sink, job_id FROM lanes WHERE token = ANY($1::bigint[]) AND owner = $3 ORDER BY sink, job_id FOR UPDATE)
             UPDATE lanes l SET ready_at = $2 FROM mine WHERE l.sink = mine.sink AND l.job_id = mine.job_id RETURNING l.token`,
            [tokens, this.now() + this.leaseMs, this.owner],
          )
        ).rows.map((r) => String(r.token)),
      { durable: false },
    );
    const still = new Set(renewed);
    for (const token of still) if (this.held.has(token)) this.confirmedAt.set(token, sentAt);
    // Only lanes still held: one settled meanwhile is no longer anybody's concern here.
    for (const token of tokens) if (!still.has(token) && this.held.has(token)) this.lost.add(token);
    return still.size;
  }

  close(): void {
    clearInterval(this.timer);
    this.held.clear();
    this.lost.clear();
    this.confirmedAt.clear();
  }
}
