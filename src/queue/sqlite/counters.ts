import type { Database } from 'better-sqlite3';
import type { SinkCounters } from '../store.js';

type Mutable = Omit<SinkCounters, 'oldestCreatedAt'>;

/** Over `events e`: nothing waits for the event (kept history, or about to go). */
export const UNREFERENCED = `NOT EXISTS (SELECT 1 FROM deliveries WHERE event_id = e.id) AND NOT EXISTS (SELECT 1 FROM dead_letters WHERE event_id = e.id)`;

/**
 * Per-sink pending count, pending bytes and dead letters, kept in memory and changed in
 * step with every transaction that changes them. Loaded at open from the lanes (one row
 * per sink and job, not per delivery) and the dead letters; reloaded if a transaction
 * rolls back. Reading them never scans deliveries.
 */
export class Counters {
  private readonly bySink = new Map<string, Mutable>();
  private readonly dataVersion;
  private readonly unreferencedSize;
  private readonly unreferencedSizes;
  private seenVersion = 0;
  /**
   * Body bytes of kept history (events nothing refers to: delivered, unrouted), what
   * `history.max_bytes` bounds; changed in step with each write that keeps, refers to
   * again or deletes such an event. Pending work never counts here.
   */
  historyBytes = 0;

  constructor(
    private readonly db: Database,
    private readonly trackHistory = false,
  ) {
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
    this.unreferencedSize = db
      .prepare(`SELECT length(body) FROM events e WHERE id = ? AND ${UNREFERENCED}`)
      .pluck();
    this.unreferencedSizes = db
      .prepare(`SELECT coalesce(sum(length(body)), 0) FROM events e WHERE id IN (SELECT value FROM json_each(?)) AND ${UNREFERENCED}`)
      .pluck();
    this.load();
  }

  /** An event a write left in place (history keeps it): counted once nothing refers to it. */
  keepIfUnreferenced(eventId: number): void {
    if (this.trackHistory) this.historyBytes += (this.unreferencedSize.get(eventId) as number | undefined) ?? 0;
  }

  /** keepIfUnreferenced for several events (distinct ids) at once. */
  keepAllIfUnreferenced(eventIds: readonly number[]): void {
    if (this.trackHistory && eventIds.length > 0) this.historyBytes += this.unreferencedSizes.get(JSON.stringify(eventIds)) as number;
  }

  /** An event about to be referred to again (backfill): no longer history, if it was. */
  reuse(eventId: number): void {
    if (this.trackHistory) this.historyBytes -= (this.unreferencedSize.get(eventId) as number | undefined) ?? 0;
  }

  /**
   * Reloads when another connection committed since (`firecrawl-relay dlq replay` run
   * beside a relay): returns whether it did. PRAGMA data_version moves only for commits
   * of other connections, so the relay's own writes never trigger it.
   */
  refreshIfChangedElsewhere(): boolean {
    const version = this.dataVersion.get() as number;
    if (version === this.seenVersion) return false;
    this.load();
    return true;
  }

  /**
   * After a rollback: the figures may hold its changes. Reloaded at the next refresh (never
   * here, so that a failing database cannot throw out of an error path).
   */
  invalidate(): void {
    this.seenVersion = -1;
  }

  load(): void {
    this.seenVersion = this.dataVersion.get() as number;
    this.bySink.clear();
    const lanes = this.db
      .prepare('SELECT sink, sum(pending) AS pending, sum(bytes) AS bytes FROM lanes GROUP BY sink')
      .all() as Array<{ sink: string; pending: number; bytes: number }>;
    for (const row of lanes) this.add(row.sink, row.pending, row.bytes, 0);
    const dead = this.db.prepare('SELECT sink, count(*) AS n FROM dead_letters GROUP BY sink').all() as Array<{
      sink: string;
      n: number;
    }>;
    for (const row of dead) this.add(row.sink, 0, 0, row.n);
    // One pass at open (and after another process wrote): never per prune or enqueue.
    this.historyBytes = this.trackHistory
      ? (this.db.prepare(`SELECT coalesce(sum(length(body)), 0) FROM events e WHERE ${UNREFERENCED}`).pluck().get() as number)
      : 0;
  }

  get(sink: string): Readonly<Mutable> {
    return this.bySink.get(sink) ?? { pending: 0, pendingBytes: 0, deadLetters: 0 };
  }

  add(sink: string, pending: number, bytes: number, dead: number): void {
    let c = this.bySink.get(sink);
    if (!c) this.bySink.set(sink, (c = { pending: 0, pendingBytes: 0, deadLetters: 0 }));
    c.pending += pending;
    c.pendingBytes += bytes;
    c.deadLetters += dead;
  }

  /** Sinks with something pending. */
  sinksWithPending(): string[] {
    return [...this.bySink].filter(([, c]) => c.pending > 0).map(([sink]) => sink);
  }

  sinks(): string[] {
    return [...this.bySink.keys()];
  }
}
