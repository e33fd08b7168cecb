import type { Database } from 'better-sqlite3';
import { describeError } from '../../errors.js';
import type {
  ClaimLimits,
  ClaimedLane,
  EnqueueItem,
  EnqueueResult,
  HistoryOptions,
  LaneSettlement,
  QueueStore,
  SinkCounters,
  SinkLimit,
} from '../store.js';
import { RelayError } from '../../errors.js';
import { openDatabase } from './connection.js';
import { BodyCache } from './body-cache.js';
import { Counters } from './counters.js';
import { BULK_CHUNK, SqliteDeadLetters, nextTurn } from './dead-letters.js';
import { Committer } from './enqueue.js';
import { SqliteHistory } from './history.js';
import { Lanes } from './lanes.js';
import { migrate } from './migrations.js';
import { prepareStatements, type Statements } from './statements.js';

/** How often readiness may try a write after a failed commit. */
const WRITE_PROBE_INTERVAL_MS = 5_000;

export interface SqliteStoreOptions {
  dir: string;
  maxBytes: number;
  dedupeWindowSeconds: number;
  /** Off (events go once delivered, no attempts kept) unless given. */
  history?: HistoryOptions;
  now?: () => number;
}

/** Bodies of fresh events kept to hand to sinks without reading them back. */
const BODY_CACHE_BYTES = 32 * 1024 * 1024;

/** The embedded queue: one SQLite file in WAL mode, owned by one relay process. */
export class SqliteStore implements QueueStore {
  readonly db: Database;
  readonly deadLetters: SqliteDeadLetters;
  readonly history: SqliteHistory;
  /** The schema version the file had when opened (0: new). */
  readonly upgradedFrom: number;
  private readonly stmt: Statements;
  private readonly counts: Counters;
  private readonly lanes: Lanes;
  private readonly committer: Committer;
  private readonly listeners = new Set<(sinks: ReadonlySet<string>) => void>();
  private readonly removedListeners = new Set<(eventIds: readonly number[]) => void>();
  private readonly pageSize: number;
  private readonly maxBytes: number;
  private readonly dedupeWindowMs: number;
  private readonly now: () => number;
  private limits: ReadonlyMap<string, SinkLimit> = new Map();
  private closed = false;
  private probedAt = -Infinity;

  constructor(options: SqliteStoreOptions) {
    this.db = openDatabase(options.dir);
    this.upgradedFrom = migrate(this.db);
    this.pageSize = this.db.pragma('page_size', { simple: true }) as number;
    this.now = options.now ?? Date.now;
    this.maxBytes = options.maxBytes;
    this.dedupeWindowMs = options.dedupeWindowSeconds * 1000;
    this.stmt = prepareStatements(this.db);
    this.counts = new Counters(this.db, (options.history?.retentionMs ?? 0) > 0);
    const bodies = new BodyCache(BODY_CACHE_BYTES);
    const notify = (sinks: ReadonlySet<string>): void => {
      for (const listener of this.listeners) listener(sinks);
    };
    this.history = new SqliteHistory({
      db: this.db,
      stmt: this.stmt,
      counters: this.counts,
      options: options.history ?? { retentionMs: 0, maxBytes: 0 },
      now: this.now,
      queued: notify,
    });
    const cutoff = (): number => this.history.cutoff();
    this.lanes = new Lanes(this.db, this.stmt, this.counts, bodies, this.now, { enabled: this.history.enabled, cutoff });
    this.committer = new Committer({
      db: this.db,
      stmt: this.stmt,
      counters: this.counts,
      bodies,
      now: this.now,
      maxBytes: this.maxBytes,
      dedupeWindowMs: this.dedupeWindowMs,
      limits: () => this.limits,
      usedBytes: () => this.usedBytes(),
      keepUnrouted: this.history.enabled,
      makeRoom: () => this.history.dropOldest() > 0,
      committed: notify,
    });
    this.deadLetters = new SqliteDeadLetters({ db: this.db, stmt: this.stmt, counters: this.counts, now: this.now, historyCutoff: cutoff, replayed: notify });
  }

  /** Enqueue transactions committed: fewer than events when group commit works. */
  get commits(): number {
    return this.committer.commits;
  }

  /** Rows of the due-lanes index read by claims so far. */
  get lanesVisited(): number {
    return this.lanes.lanesVisited;
  }

  async enqueue(item: EnqueueItem): Promise<EnqueueResult> {
    if (this.closed) throw new RelayError('RELAY_ERR_QUEUE_UNAVAILABLE', ['the queue is closed']);
    return this.committer.enqueue(item);
  }

  onEnqueued(listener: (sinks: ReadonlySet<string>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async claim(sink: string, limits: ClaimLimits): Promise<ClaimedLane[]> {
    return this.lanes.claim(sink, limits);
  }

  async settle(outcomes: readonly LaneSettlement[]): Promise<void> {
    const removed = this.lanes.settle(outcomes);
    if (removed.length > 0) for (const listener of this.removedListeners) listener(removed);
  }

  onEventsRemoved(listener: (eventIds: readonly number[]) => void): () => void {
    this.removedListeners.add(listener);
    return () => this.removedListeners.delete(listener);
  }

  async nextDueAt(sink: string): Promise<number | null> {
    return this.lanes.nextDueAt(sink);
  }

  setSinkLimits(limits: ReadonlyMap<string, SinkLimit>): void {
    this.limits = new Map(limits);
  }

  async parkSinksExcept(keep: ReadonlySet<string>, reason: (sink: string) => string): Promise<Map<string, number>> {
    const parked = new Map<string, number>();
    const now = this.now();
    this.counts.refreshIfChangedElsewhere();
    // A chunk of deliveries per transaction, the event loop running between two; the lanes
    // go last (a crash midway leaves them, and the next start parks the rest).
    const chunkIds = this.db.prepare('SELECT id FROM deliveries WHERE sink = ? ORDER BY id LIMIT ?').pluck();
    const toDead = this.db.prepare(`
      INSERT INTO dead_letters (id, event_id, sink, job_id, type, attempts, created_at, failed_at, last_error)
      SELECT d.id, d.event_id, d.sink, d.job_id, e.type, d.attempts, d.created_at, ?, ?
      FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.sink = ? AND d.id BETWEEN ? AND ?`);
    const dropDeliveries = this.db.prepare('DELETE FROM deliveries WHERE sink = ? AND id BETWEEN ? AND ?');
    const dropLanes = this.db.prepare('DELETE FROM lanes WHERE sink = ?');
    for (const sink of this.counts.sinksWithPending()) {
      if (keep.has(sink)) continue;
      let n = 0;
      for (;;) {
        const ids = chunkIds.all(sink, BULK_CHUNK) as number[];
        if (ids.length === 0) break;
        const [first, last] = [ids[0]!, ids.at(-1)!];
        n += this.db.transaction(() => {
          const moved = toDead.run(now, reason(sink), sink, first, last).changes;
          dropDeliveries.run(sink, first, last);
          return moved;
        })();
        await nextTurn();
      }
      dropLanes.run(sink);
      const { pending, pendingBytes } = this.counts.get(sink);
      this.counts.add(sink, -pending, -pendingBytes, n);
      this.lanes.release(sink);
      parked.set(sink, n);
    }
    return parked;
  }

  async pausedSinks(): Promise<Set<string>> {
    return new Set(this.db.prepare('SELECT sink FROM paused_sinks').pluck().all() as string[]);
  }

  async setPaused(sink: string, paused: boolean): Promise<void> {
    if (paused) this.db.prepare('INSERT OR IGNORE INTO paused_sinks (sink, paused_at) VALUES (?, ?)').run(sink, this.now());
    else this.db.prepare('DELETE FROM paused_sinks WHERE sink = ?').run(sink);
  }

  counters(): ReadonlyMap<string, SinkCounters> {
    this.counts.refreshIfChangedElsewhere();
    const out = new Map<string, SinkCounters>();
    for (const sink of this.counts.sinks()) {
      const c = this.counts.get(sink);
      const oldest = c.pending > 0 ? (this.stmt.oldestOfSink.get(sink) as { at: number } | undefined)?.at ?? null : null;
      out.set(sink, { ...c, oldestCreatedAt: oldest });
    }
    return out;
  }

  /** Events stored (for tests and tools: nothing in the relay needs it). */
  storedEvents(): number {
    return this.db.prepare('SELECT count(*) FROM events').pluck().get() as number;
  }

  usedBytes(): number {
    const pages = (this.stmt.pageCount.get() as number) - (this.stmt.freePages.get() as number);
    return pages * this.pageSize;
  }

  writable(): { ready: boolean; error: string | null } {
    if (this.closed) return { ready: false, error: 'the queue is closed' };
    // Ready means "can persist webhooks": not after a failed commit until a write succeeds.
    if (this.committer.failure !== null && !this.probeWrite()) {
      return { ready: false, error: `the last commit failed: ${this.committer.failure}` };
    }
    try {
      const used = this.usedBytes();
      return used < this.maxBytes
        ? { ready: true, error: null }
        : { ready: false, error: `the queue is full (${used} of ${this.maxBytes} bytes)` };
    } catch (err) {
      return { ready: false, error: describeError(err) };
    }
  }

  /**
   * After a failed commit, with no webhook coming to show it (a load balancer took the relay
   * out of rotation): commits 64 KiB and removes it, at most every few seconds.
   */
  private probeWrite(): boolean {
    if (this.now() - Math.max(this.probedAt, this.committer.failedAt) < WRITE_PROBE_INTERVAL_MS) return false;
    this.probedAt = this.now();
    try {
      this.db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('write_probe', hex(randomblob(32768)))`).run();
      this.db.prepare(`DELETE FROM meta WHERE key = 'write_probe'`).run();
      this.committer.failure = null;
      return true;
    } catch (err) {
      this.committer.failure = describeError(err);
      return false;
    }
  }

  async pruneDedupe(): Promise<number> {
    return this.stmt.pruneDedupe.run(this.now() - this.dedupeWindowMs).changes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.committer.drain();
    this.db.close();
  }
}

/** Opens (creating or upgrading) the queue in `options.dir`. */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(options);
}
