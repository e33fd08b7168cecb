import type pg from 'pg';
import { prepared, transaction } from './pool.js';

/**
 * Keeps this replica's leases alive while their writes run: every third of the lease,
 * one statement moves the expiry of every lane still held. A lane is held from claim to
 * settle; if the renewals fail (PostgreSQL unreachable) the leases run out and another
 * replica takes the lanes over, which at-least-once allows.
 */
export class LeaseKeeper {
  /** token -> sink, for the lanes claimed and not yet settled. */
  private readonly held = new Map<string, string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pool: pg.Pool,
    private readonly leaseMs: number,
    private readonly now: () => number,
  ) {
    this.timer = setInterval(() => void this.renew().catch(() => undefined), Math.max(10, Math.floor(leaseMs / 3)));
    this.timer.unref();
  }

  hold(token: string, sink: string): void {
    this.held.set(token, sink);
  }

  release(token: string): void {
    this.held.delete(token);
  }

  /** Extends every held lease; returns how many lanes were still ours. */
  async renew(): Promise<number> {
    if (this.held.size === 0) return 0;
    const tokens = [...this.held.keys()];
    return transaction(
      this.pool,
      async (client) =>
        (await prepared(client, 'lease_renew', 'UPDATE lanes SET ready_at = $2 WHERE token = ANY($1::bigint[])', [tokens, this.now() + this.leaseMs]))
          .rowCount ?? 0,
      { durable: false },
    );
  }

  close(): void {
    clearInterval(this.timer);
    this.held.clear();
  }
}
