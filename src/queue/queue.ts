import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Database, Statement } from 'better-sqlite3';
import { RelayError, describeError } from '../errors.js';
import { migrate } from './schema.js';
import { SqliteDatabase } from './sqlite-driver.js';

export interface QueueOptions {
  dir: string;
  maxBytes: number;
  dedupeWindowSeconds: number;
  now?: () => number;
}

export interface EnqueueItem {
  source: string;
  type: string;
  jobId: string;
  /** null: no dedupe for this event. */
  dedupeKey: string | null;
  body: Buffer;
  sinks: readonly string[];
}

export interface EnqueueResult {
  /** null when nothing was stored: a duplicate, or an event no route matched. */
  eventId: number | null;
  duplicate: boolean;
}

/** One delivery handed to a dispatcher. */
export interface QueuedDelivery {
  id: number;
  eventId: number;
  attempts: number;
  createdAt: number;
  receivedAt: number;
  source: string;
  type: string;
  jobId: string;
  body: Buffer;
}

export interface Settlement {
  delivered: readonly number[];
  /** `countAttempt: false` for deliveries held back behind a failed one of their job. */
  retry: ReadonlyArray<{ id: number; jobId: string; at: number; error: string | null; countAttempt: boolean }>;
  dead: ReadonlyArray<{ id: number; error: string }>;
}

interface Waiter {
  item: EnqueueItem;
  resolve: (result: EnqueueResult) => void;
  reject: (error: unknown) => void;
}

/**
 * The embedded durable queue (SQLite, WAL, synchronous=FULL). `enqueue` resolves only
 * after the transaction holding the event is on disk; requests arriving in the same
 * event-loop turn share one transaction, so one fsync serves many acks (group commit).
 */
export class Queue {
  readonly db: Database;
  private readonly now: () => number;
  private readonly maxBytes: number;
  /** Fixed once the database exists: read at open, not at every commit. */
  private readonly pageSize: number;
  private readonly dedupeWindowMs: number;
  private pending: Waiter[] = [];
  private flushScheduled = false;
  private readonly listeners = new Set<(sinks: ReadonlySet<string>) => void>();
  private readonly stmt: Record<string, Statement>;
  private closed = false;
  /** Enqueue transactions committed: fewer than events when group commit works. */
  commits = 0;

  constructor(options: QueueOptions) {
    mkdirSync(options.dir, { recursive: true });
    this.db = new SqliteDatabase(join(options.dir, 'relay.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
    this.pageSize = this.db.pragma('page_size', { simple: true }) as number;
    this.now = options.now ?? Date.now;
    this.maxBytes = options.maxBytes;
    this.dedupeWindowMs = options.dedupeWindowSeconds * 1000;
    const db = this.db;
    this.stmt = {
      dedupeGet: db.prepare('SELECT seen_at FROM dedupe WHERE key = ?'),
      dedupePut: db.prepare('INSERT OR REPLACE INTO dedupe (key, seen_at) VALUES (?, ?)'),
      eventPut: db.prepare('INSERT INTO events (received_at, source, type, job_id, body) VALUES (?, ?, ?, ?, ?)'),
      deliveryPut: db.prepare(
        'INSERT INTO deliveries (event_id, sink, job_id, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)',
      ),
      // Walks the sink's deliveries in id order and stops at the limit. Left to itself the
      // planner picks deliveries_due, then reads and sorts every due row: O(backlog) per batch.
      batch: db.prepare(`
        SELECT d.id, d.event_id AS eventId, d.attempts, d.created_at AS createdAt, e.received_at AS receivedAt,
               e.source, e.type, e.job_id AS jobId, e.body
        FROM deliveries d INDEXED BY deliveries_by_sink JOIN events e ON e.id = d.event_id
        WHERE d.sink = ? AND d.next_attempt_at <= ?
          AND NOT EXISTS (SELECT 1 FROM job_blocks b WHERE b.sink = d.sink AND b.job_id = d.job_id AND b.until > ?)
        ORDER BY d.id LIMIT ?`),
      nextDue: db.prepare('SELECT MIN(next_attempt_at) AS at FROM deliveries WHERE sink = ? AND next_attempt_at > ?'),
      delivered: db.prepare('DELETE FROM deliveries WHERE id = ? RETURNING event_id AS eventId'),
      retry: db.prepare(
        'UPDATE deliveries SET attempts = attempts + ?, next_attempt_at = ?, last_error = coalesce(?, last_error) WHERE id = ?',
      ),
      block: db.prepare(`
        INSERT INTO job_blocks (sink, job_id, until) VALUES (?, ?, ?)
        ON CONFLICT (sink, job_id) DO UPDATE SET until = max(until, excluded.until)`),
      unblock: db.prepare('DELETE FROM job_blocks WHERE sink = ? AND until <= ?'),
      dead: db.prepare(`
        INSERT INTO dead_letters (id, event_id, sink, job_id, type, attempts, created_at, failed_at, last_error)
        SELECT d.id, d.event_id, d.sink, d.job_id, e.type, d.attempts + 1, d.created_at, ?, ?
        FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = ?`),
      gcEvent: db.prepare(`
        DELETE FROM events WHERE id = ?
          AND NOT EXISTS (SELECT 1 FROM deliveries WHERE event_id = ?)
          AND NOT EXISTS (SELECT 1 FROM dead_letters WHERE event_id = ?)`),
      pageCount: db.prepare('PRAGMA page_count'),
      freePages: db.prepare('PRAGMA freelist_count'),
      pendingBySink: db.prepare(
        'SELECT sink, COUNT(*) AS count, MIN(created_at) AS oldest FROM deliveries GROUP BY sink',
      ),
      deadBySink: db.prepare('SELECT sink, COUNT(*) AS count FROM dead_letters GROUP BY sink'),
      pruneDedupe: db.prepare('DELETE FROM dedupe WHERE seen_at < ?'),
    };
    this.stmt.pageCount!.pluck();
    this.stmt.freePages!.pluck();
  }

  /** Called after each commit with the sinks that got new deliveries. */
  onEnqueued(listener: (sinks: ReadonlySet<string>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  enqueue(item: EnqueueItem): Promise<EnqueueResult> {
    if (this.closed) return Promise.reject(new RelayError('RELAY_ERR_QUEUE_UNAVAILABLE', ['the queue is closed']));
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // setImmediate, not a microtask: requests read in this loop turn join the batch.
        setImmediate(() => this.flush());
      }
    });
  }

  /** Whether an event could be accepted now: open and under `max_bytes`. */
  writable(): { ready: boolean; error: string | null } {
    if (this.closed) return { ready: false, error: 'the queue is closed' };
    try {
      const used = this.usedBytes();
      return used < this.maxBytes ? { ready: true, error: null } : { ready: false, error: `the queue is full (${used} of ${this.maxBytes} bytes)` };
    } catch (err) {
      return { ready: false, error: describeError(err) };
    }
  }

  /** Bytes the database uses (pages in use), the figure `queue.max_bytes` bounds. */
  usedBytes(): number {
    const pages = (this.stmt.pageCount!.get() as number) - (this.stmt.freePages!.get() as number);
    return pages * this.pageSize;
  }

  private readonly commit = (batch: readonly Waiter[], now: number): EnqueueResult[] =>
    this.db.transaction(() =>
      batch.map(({ item }): EnqueueResult => {
        if (item.dedupeKey !== null) {
          const seen = this.stmt.dedupeGet!.get(item.dedupeKey) as { seen_at: number } | undefined;
          if (seen && seen.seen_at > now - this.dedupeWindowMs) return { eventId: null, duplicate: true };
          this.stmt.dedupePut!.run(item.dedupeKey, now);
        }
        if (item.sinks.length === 0) return { eventId: null, duplicate: false };
        const eventId = Number(
          this.stmt.eventPut!.run(now, item.source, item.type, item.jobId, item.body).lastInsertRowid,
        );
        for (const sink of item.sinks) this.stmt.deliveryPut!.run(eventId, sink, item.jobId, now, now);
        return { eventId, duplicate: false };
      }),
    )();

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    let results: EnqueueResult[];
    try {
      const used = this.usedBytes();
      if (used >= this.maxBytes) {
        const error = new RelayError('RELAY_ERR_QUEUE_FULL', [used, this.maxBytes]);
        for (const waiter of batch) waiter.reject(error);
        return;
      }
      results = this.commit(batch, this.now());
      this.commits++;
    } catch (err) {
      const error = new RelayError('RELAY_ERR_QUEUE_UNAVAILABLE', [describeError(err)], { cause: err });
      for (const waiter of batch) waiter.reject(error);
      return;
    }
    const touched = new Set<string>();
    batch.forEach((waiter, i) => {
      const result = results[i]!;
      if (result.eventId !== null) for (const sink of waiter.item.sinks) touched.add(sink);
      waiter.resolve(result);
    });
    if (touched.size > 0) for (const listener of this.listeners) listener(touched);
  }

  /**
   * Due deliveries of `sink` in id order, skipping jobs held back behind a retry: at most
   * `limit` of them and, past the first, no more than `maxBytes` of bodies.
   */
  nextBatch(sink: string, limit: number, maxBytes = Number.POSITIVE_INFINITY): QueuedDelivery[] {
    const now = this.now();
    const rows: QueuedDelivery[] = [];
    let bytes = 0;
    // Row by row, so a batch of large pages stops at the byte limit instead of loading them all.
    for (const row of this.stmt.batch!.iterate(sink, now, now, limit) as IterableIterator<QueuedDelivery>) {
      bytes += row.body.length;
      if (rows.length > 0 && bytes > maxBytes) break;
      rows.push(row);
    }
    return rows;
  }

  /** When the next held-back delivery of `sink` becomes due, if any. */
  nextDueAt(sink: string): number | null {
    const row = this.stmt.nextDue!.get(sink, this.now()) as { at: number | null };
    return row.at;
  }

  /**
   * Records what a write achieved. Committed without fsync (synchronous=NORMAL): losing
   * it in a power cut only means the events are delivered again, which at-least-once
   * allows; the next enqueue's fsync makes it durable anyway.
   */
  settle(sink: string, outcome: Settlement): void {
    const now = this.now();
    this.db.pragma('synchronous = NORMAL');
    try {
      this.settleTransaction(sink, outcome, now);
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  private settleTransaction(sink: string, outcome: Settlement, now: number): void {
    this.db.transaction(() => {
      const touched = new Set<number>();
      for (const id of outcome.delivered) {
        const row = this.stmt.delivered!.get(id) as { eventId: number } | undefined;
        if (row) touched.add(row.eventId);
      }
      for (const r of outcome.retry) {
        this.stmt.retry!.run(r.countAttempt ? 1 : 0, r.at, r.error, r.id);
        this.stmt.block!.run(sink, r.jobId, r.at);
      }
      for (const d of outcome.dead) {
        this.stmt.dead!.run(now, d.error, d.id);
        const row = this.stmt.delivered!.get(d.id) as { eventId: number } | undefined;
        if (row) touched.add(row.eventId);
      }
      this.stmt.unblock!.run(sink, now);
      for (const eventId of touched) this.stmt.gcEvent!.run(eventId, eventId, eventId);
    })();
  }

  stats(): { pending: Map<string, { count: number; oldest: number }>; dead: Map<string, number> } {
    const pending = new Map<string, { count: number; oldest: number }>();
    for (const row of this.stmt.pendingBySink!.all() as Array<{ sink: string; count: number; oldest: number }>) {
      pending.set(row.sink, { count: row.count, oldest: row.oldest });
    }
    const dead = new Map<string, number>();
    for (const row of this.stmt.deadBySink!.all() as Array<{ sink: string; count: number }>) dead.set(row.sink, row.count);
    return { pending, dead };
  }

  /** Forgets dedupe keys older than the window; returns how many. */
  pruneDedupe(): number {
    return this.stmt.pruneDedupe!.run(this.now() - this.dedupeWindowMs).changes;
  }

  /** Commits what is waiting, then closes the database. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }
}
