import type pg from 'pg';
import type { SinkCounters } from '../store.js';
import { prepared } from './pool.js';

const SHARDS = 16;

interface Delta {
  pending: number;
  pendingBytes: number;
  deadLetters: number;
}

/**
 * What one transaction changes in the maintained counters, written at its end as one
 * statement on one random shard: the sums stay exact, and replicas committing at the same
 * moment rarely wait on each other's row lock.
 */
export class CounterDeltas {
  readonly sinks = new Map<string, Delta>();
  /** Event body bytes stored (+) or freed (-): what `queue.max_bytes` bounds. */
  usedBytes = 0;
  /** Bytes of events nothing refers to (kept history) added (+) or gone or referred to again (-). */
  historyBytes = 0;

  add(sink: string, pending: number, pendingBytes: number, deadLetters = 0): void {
    const delta = this.sinks.get(sink) ?? { pending: 0, pendingBytes: 0, deadLetters: 0 };
    delta.pending += pending;
    delta.pendingBytes += pendingBytes;
    delta.deadLetters += deadLetters;
    this.sinks.set(sink, delta);
  }

  async write(client: pg.PoolClient): Promise<void> {
    const sinks = [...this.sinks.keys()].sort();
    if (sinks.length === 0 && this.usedBytes === 0 && this.historyBytes === 0) return;
    const d = sinks.map((sink) => this.sinks.get(sink)!);
    // One statement for both tables: one round trip per commit.
    await prepared(
      client,
      'counters_add',
      `WITH s AS (
         INSERT INTO sink_counters (sink, shard, pending, pending_bytes, dead_letters)
         SELECT s, $2, p, b, d FROM unnest($1::text[], $3::bigint[], $4::bigint[], $5::bigint[]) AS u(s, p, b, d) ORDER BY s
         ON CONFLICT (sink, shard) DO UPDATE SET pending = sink_counters.pending + excluded.pending,
           pending_bytes = sink_counters.pending_bytes + excluded.pending_bytes,
           dead_letters = sink_counters.dead_letters + excluded.dead_letters)
       INSERT INTO queue_usage (shard, bytes, history_bytes) SELECT $2, $6::bigint, $7::bigint WHERE $6::bigint <> 0 OR $7::bigint <> 0
       ON CONFLICT (shard) DO UPDATE SET bytes = queue_usage.bytes + excluded.bytes, history_bytes = queue_usage.history_bytes + excluded.history_bytes`,
      [sinks, Math.floor(Math.random() * SHARDS), d.map((x) => x.pending), d.map((x) => x.pendingBytes), d.map((x) => x.deadLetters), this.usedBytes, this.historyBytes],
    );
  }
}

/**
 * The counters as last read, plus this replica's own commits since: `counters()`,
 * `usedBytes()` and the enqueue-time bounds read it synchronously. Other replicas'
 * changes show up at the next refresh (every second).
 */
export class CounterSnapshot {
  private sinks = new Map<string, SinkCounters>();
  private used = 0;
  /** Commits of this replica applied so far: a refresh that overlapped one is stale. */
  private applied = 0;
  /** Refreshes dropped in a row as stale; under steady commits the next one is kept anyway. */
  private dropped = 0;
  private history = 0;

  get(): ReadonlyMap<string, SinkCounters> {
    return this.sinks;
  }

  usedBytes(): number {
    return this.used;
  }

  /** Bytes of kept history, what `history.max_bytes` bounds. */
  historyBytes(): number {
    return this.history;
  }

  pendingBytes(sink: string): number {
    return this.sinks.get(sink)?.pendingBytes ?? 0;
  }

  /** Sums the shards: O(sinks × 16) rows, and one index probe per sink for its oldest delivery. */
  async refresh(pool: pg.Pool): Promise<void> {
    const before = this.applied;
    const [rows, usage] = await Promise.all([
      pool.query<{ sink: string; pending: number; pending_bytes: number; dead_letters: number; oldest: number | null }>(
        `SELECT c.sink, c.pending, c.pending_bytes, c.dead_letters,
                (SELECT min(created_at) FROM deliveries d WHERE d.sink = c.sink) AS oldest
         FROM (SELECT sink, sum(pending)::float8 AS pending, sum(pending_bytes)::float8 AS pending_bytes,
                      sum(dead_letters)::float8 AS dead_letters
               FROM sink_counters GROUP BY sink) c`,
      ),
      pool.query<{ bytes: number; history: number }>('SELECT coalesce(sum(bytes), 0)::float8 AS bytes, coalesce(sum(history_bytes), 0)::float8 AS history FROM queue_usage'),
    ]);
    // A commit of ours applied while the sums were read may be missing from them: keeping them
    // would undo it until the next refresh (a dead letter counted twice, bytes under-counted).
    if (this.applied !== before && ++this.dropped < 3) return;
    this.dropped = 0;
    const sinks = new Map<string, SinkCounters>();
    for (const r of rows.rows) {
      sinks.set(r.sink, { pending: r.pending, pendingBytes: r.pending_bytes, oldestCreatedAt: r.oldest, deadLetters: r.dead_letters });
    }
    this.sinks = sinks;
    this.used = usage.rows[0]!.bytes;
    this.history = usage.rows[0]!.history;
  }

  /** A commit of this replica, seen at once (the oldest delivery waits for the refresh). */
  apply(deltas: CounterDeltas, now: number): void {
    this.applied++;
    for (const [sink, d] of deltas.sinks) {
      const c = this.sinks.get(sink) ?? { pending: 0, pendingBytes: 0, oldestCreatedAt: null, deadLetters: 0 };
      const pending = c.pending + d.pending;
      this.sinks.set(sink, {
        pending,
        pendingBytes: c.pendingBytes + d.pendingBytes,
        oldestCreatedAt: pending <= 0 ? null : (c.oldestCreatedAt ?? now),
        deadLetters: c.deadLetters + d.deadLetters,
      });
    }
    this.used += deltas.usedBytes;
    this.history += deltas.historyBytes;
  }
}
