import type { Database } from 'better-sqlite3';
import { RelayError, describeError } from '../../errors.js';
import type { EnqueueItem, EnqueueResult, SinkLimit } from '../store.js';
import type { BodyCache } from './body-cache.js';
import type { Counters } from './counters.js';
import type { Statements } from './statements.js';

interface Waiter {
  item: EnqueueItem;
  resolve: (result: EnqueueResult) => void;
  reject: (error: unknown) => void;
}

export interface CommitterDeps {
  db: Database;
  stmt: Statements;
  counters: Counters;
  bodies: BodyCache;
  now: () => number;
  maxBytes: number;
  dedupeWindowMs: number;
  limits: () => ReadonlyMap<string, SinkLimit>;
  usedBytes: () => number;
  /** History is on: an event no route matched is stored too (no deliveries), so the console shows it. */
  keepUnrouted: boolean;
  /** Drops the oldest kept history (delivered events) to make room; false when there is none. */
  makeRoom?: () => boolean;
  /** After the commit holding new deliveries of these sinks is durable. */
  committed: (sinks: ReadonlySet<string>) => void;
}

/**
 * Group commit. Requests of one event-loop turn share one transaction, committed with
 * synchronous=FULL: one WAL sync serves every ack of the group. (Syncing the WAL on the
 * thread pool, the next group forming meanwhile, was measured and cost more CPU per event:
 * docs/benchmarks.md.)
 */
export class Committer {
  private waiting: Waiter[] = [];
  private scheduled = false;
  /** Enqueue transactions committed: fewer than events when group commit works. */
  commits = 0;
  /** Why the last enqueue commit failed (disk full, I/O error); null once one succeeds. */
  failure: string | null = null;
  failedAt = 0;

  constructor(private readonly deps: CommitterDeps) {}

  enqueue(item: EnqueueItem): Promise<EnqueueResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Commits what waits. */
  drain(): void {
    this.flush();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // setImmediate, not a microtask: requests read in this loop turn join the group.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const group = this.waiting;
    this.waiting = [];
    if (group.length === 0) return;
    const { deps } = this;
    let results: Array<EnqueueResult | RelayError>;
    try {
      let used = deps.usedBytes();
      // Kept history never turns a webhook away: it gives way first, oldest first.
      while (used >= deps.maxBytes && deps.makeRoom?.()) used = deps.usedBytes();
      if (used >= deps.maxBytes) return rejectAll(group, new RelayError('RELAY_ERR_QUEUE_FULL', [used, deps.maxBytes]));
      deps.counters.refreshIfChangedElsewhere();
      results = this.commit(group, used);
      this.commits++;
      this.failure = null;
    } catch (err) {
      deps.counters.invalidate();
      this.failure = describeError(err);
      this.failedAt = deps.now();
      return rejectAll(group, unavailable(err));
    }
    this.answer(group, results);
  }

  /** This commit syncs (FULL) before it returns; settling stays NORMAL. */
  private commit(group: readonly Waiter[], used: number): Array<EnqueueResult | RelayError> {
    const { db } = this.deps;
    db.pragma('synchronous = FULL');
    try {
      return db.transaction(() => this.write(group, used))();
    } finally {
      db.pragma('synchronous = NORMAL');
    }
  }

  private answer(group: readonly Waiter[], results: ReadonlyArray<EnqueueResult | RelayError>): void {
    const touched = new Set<string>();
    group.forEach((waiter, i) => {
      const result = results[i]!;
      if (result instanceof RelayError) return waiter.reject(result);
      if (result.eventId !== null) {
        if (result.parked.length < waiter.item.sinks.length) this.deps.bodies.add(result.eventId, waiter.item.body);
        for (const sink of waiter.item.sinks) if (!result.parked.includes(sink)) touched.add(sink);
      }
      waiter.resolve(result);
    });
    if (touched.size > 0) this.deps.committed(touched);
  }

  /**
   * Inside the transaction. Lanes are upserted once per commit, not once per event.
   * `max_bytes` is checked before each event, counting the group's earlier ones (`used`: the
   * queue's bytes before the group), so a group passes it by one event's body at most.
   */
  private write(group: readonly Waiter[], used: number): Array<EnqueueResult | RelayError> {
    const { stmt, counters, limits } = this.deps;
    const now = this.deps.now();
    const stale = now - this.deps.dedupeWindowMs;
    const lanes = new Map<string, { sink: string; jobId: string; head: number; n: number; bytes: number }>();
    let added = 0;
    const results = group.map(({ item }): EnqueueResult | RelayError => {
      const size = item.body.length;
      const parked: string[] = [];
      if (used + added >= this.deps.maxBytes) return new RelayError('RELAY_ERR_QUEUE_FULL', [used + added, this.deps.maxBytes]);
      // Before the dedupe key is taken: a rejected event must be accepted when it comes again.
      for (const sink of item.sinks) {
        const limit = limits().get(sink);
        const pending = counters.get(sink).pendingBytes;
        if (!limit || pending + size <= limit.maxPendingBytes) continue;
        if (limit.whenFull === 'reject') return new RelayError('RELAY_ERR_QUEUE_SINK_FULL', [sink, pending, limit.maxPendingBytes]);
        parked.push(sink);
      }
      if (item.dedupeKey !== null && stmt.dedupeClaim.run(item.dedupeKey, now, stale).changes === 0) {
        return { eventId: null, duplicate: true, parked: [] };
      }
      if (item.sinks.length === 0 && !this.deps.keepUnrouted) return { eventId: null, duplicate: false, parked: [] };
      const eventId = Number(stmt.eventPut.run(now, item.source, item.type, item.jobId, item.body, item.url ?? null).lastInsertRowid);
      added += size;
      // Unrouted: nothing will refer to it, it is history from the start.
      if (item.sinks.length === 0) counters.historyBytes += size;
      for (const sink of item.sinks) {
        const id = Number(stmt.deliveryPut.run(eventId, sink, item.jobId, now).lastInsertRowid);
        if (parked.includes(sink)) {
          stmt.deliveryToDead.run(0, now, `sink "${sink}" was over its max_pending_bytes (${limits().get(sink)!.maxPendingBytes})`, id);
          stmt.deliveryDelete.run(id);
          counters.add(sink, 0, 0, 1);
          continue;
        }
        const key = `${sink}\0${item.jobId}`;
        const lane = lanes.get(key);
        if (lane) {
          lane.n++;
          lane.bytes += size;
        } else lanes.set(key, { sink, jobId: item.jobId, head: id, n: 1, bytes: size });
        counters.add(sink, 1, size, 0);
      }
      return { eventId, duplicate: false, parked };
    });
    for (const lane of lanes.values()) stmt.laneAdd.run(lane.sink, lane.jobId, now, lane.head, lane.n, lane.bytes);
    return results;
  }
}

const unavailable = (err: unknown): RelayError =>
  new RelayError('RELAY_ERR_QUEUE_UNAVAILABLE', [describeError(err)], { cause: err });

function rejectAll(group: readonly Waiter[], error: unknown): void {
  for (const waiter of group) waiter.reject(error);
}
