import type { Database } from 'better-sqlite3';
import type { SinkCounters } from '../store.js';

type Mutable = Omit<SinkCounters, 'oldestCreatedAt'>;

/**
 * Per-sink pending count, pending bytes and dead letters, kept in memory and changed in
 * step with every transaction that changes them. Loaded at open from the lanes (one row
 * per sink and job, not per delivery) and the dead letters; reloaded if a transaction
 * rolls back. Reading them never scans deliveries.
 */
export class Counters {
  private readonly bySink = new Map<string, Mutable>();
  private readonly dataVersion;
  private seenVersion = 0;

  constructor(private readonly db: Database) {
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
    this.load();
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
