import type { Database } from 'better-sqlite3';
import type { AttemptRecord, ClaimLimits, ClaimedLane, LaneSettlement, StoredDelivery } from '../store.js';
import type { BodyCache } from './body-cache.js';
import type { Counters } from './counters.js';
import type { Statements } from './statements.js';

const laneKey = (sink: string, jobId: string): string => `${sink}\0${jobId}`;

/**
 * Claim and settle of lanes (one sink, one job). A claim reads due lanes in
 * (next_attempt_at, head_id) order — close to global FIFO, since a healthy lane is due
 * from its head's creation — and the first deliveries of each: a lane in backoff is never
 * visited, whatever waits behind it. Claims are held in memory: one process owns a SQLite
 * queue (a shared store would lease them in its table instead, fenced by the token).
 */
export class Lanes {
  private readonly claimed = new Map<string, string>();
  private tokens = 0;
  /** Rows of lanes_due a claim read: what a test checks stays O(batch) behind any backlog. */
  lanesVisited = 0;

  constructor(
    private readonly db: Database,
    private readonly stmt: Statements,
    private readonly counters: Counters,
    private readonly bodies: BodyCache,
    private readonly now: () => number,
    /** History: events received after this stay when delivered; attempts are recorded when it is on. */
    private readonly history: { enabled: boolean; cutoff: () => number },
  ) {}

  /** The row (fresh from a read, the claim's own) with its body set: no copy of the row per delivery. */
  private withBody(row: Omit<StoredDelivery, 'body'>): StoredDelivery {
    const delivery = row as StoredDelivery;
    delivery.body = this.bodies.get(row.eventId) ?? (this.stmt.eventBody.get(row.eventId) as { body: Buffer }).body;
    return delivery;
  }

  claim(sink: string, limits: ClaimLimits): ClaimedLane[] {
    const lanes: ClaimedLane[] = [];
    try {
      return this.claimInto(lanes, sink, limits);
    } catch (err) {
      // A read failed midway (I/O error): the lanes already taken are not the caller's.
      for (const lane of lanes) this.claimed.delete(laneKey(sink, lane.jobId));
      throw err;
    }
  }

  private claimInto(lanes: ClaimedLane[], sink: string, limits: ClaimLimits): ClaimedLane[] {
    const maxLanes = Math.max(1, Math.min(limits.lanes, limits.events));
    // Lanes this process holds are skipped: read that many more.
    const held = this.claimedOf(sink);
    const rows = this.stmt.dueHeads.all(sink, this.now(), maxLanes + held) as Array<
      Omit<StoredDelivery, 'body'> & { lanePending: number }
    >;
    this.lanesVisited += rows.length;
    const heads = rows.filter((row) => !this.claimed.has(laneKey(sink, row.jobId))).slice(0, maxLanes);
    let events = 0;
    let bytes = 0;
    for (let i = 0; i < heads.length; i++) {
      const { lanePending, ...row } = heads[i]!;
      const head = this.withBody(row);
      if (events > 0 && bytes + head.body.length > limits.bytes) break;
      const deliveries: StoredDelivery[] = [head];
      events++;
      bytes += head.body.length;
      // Spread what is left, less a head for each lane still to read, so one long lane cannot take all.
      const share = Math.ceil((limits.events - events - (heads.length - i - 1)) / (heads.length - i));
      if (share > 0 && lanePending > 1) {
        for (const next of this.stmt.laneAfter.all(sink, head.jobId, head.id, share) as Array<Omit<StoredDelivery, 'body'>>) {
          const row = this.withBody(next);
          if (bytes + row.body.length > limits.bytes) break;
          deliveries.push(row);
          events++;
          bytes += row.body.length;
        }
      }
      const token = String(++this.tokens);
      this.claimed.set(laneKey(sink, head.jobId), token);
      lanes.push({ sink, jobId: head.jobId, deliveries, token });
      if (events >= limits.events) break;
    }
    return lanes;
  }

  private claimedOf(sink: string): number {
    let n = 0;
    for (const key of this.claimed.keys()) if (key.startsWith(`${sink}\0`)) n++;
    return n;
  }

  /** Returns the events the settle removed (no delivery or dead letter left of them). */
  settle(outcomes: readonly LaneSettlement[]): number[] {
    const now = this.now();
    const current = outcomes.filter(({ lane }) => this.claimed.get(laneKey(lane.sink, lane.jobId)) === lane.token);
    // A lane given back untouched (nothing delivered, tried or failed) writes nothing: no transaction for it.
    const writing = current.filter((o) => o.delivered.length > 0 || (o.failure && !o.hold) || (this.history.enabled && (o.attempts?.length ?? 0) > 0));
    const gone: number[] = [];
    try {
      if (writing.length === 0) return gone;
      this.db.transaction(() => {
        const touched = new Map<number, number | undefined>();
        for (const outcome of writing) this.settleLane(outcome, now, touched);
        this.collect(touched, gone);
      })();
      return gone;
    } catch (err) {
      this.counters.invalidate();
      throw err;
    } finally {
      for (const { lane, hold } of current) if (!hold) this.claimed.delete(laneKey(lane.sink, lane.jobId));
    }
  }

  /**
   * One lane's outcome, a statement per kind of change (not per delivery). `touched` gets
   * the events whose delivery went, with when they were received (when known).
   */
  private settleLane({ lane, delivered, failure: given, attempts, hold }: LaneSettlement, now: number, touched: Map<number, number | undefined>): void {
    // A held lane stays claimed in memory: moving its head is harmless, no claim reads it.
    const failure = hold ? undefined : given;
    const { stmt } = this;
    if (this.history.enabled && attempts && attempts.length > 0) this.recordAttempts(lane.sink, attempts);
    const gone = [...delivered];
    let dead = 0;
    let retryAt: number | null = null;
    if (failure && 'dead' in failure) {
      // Copied while the delivery is still there to copy; deleted with the delivered ones.
      dead = stmt.deliveryToDead.run(1, now, failure.error, failure.id).changes;
      gone.push(failure.id);
    } else if (failure) {
      stmt.deliveryFail.run(failure.countAttempt ? 1 : 0, failure.error, failure.id);
      retryAt = failure.retryAt;
    }
    const position = new Map(lane.deliveries.map((d, index) => [d.id, index]));
    let removed = 0;
    let bytes = 0;
    let last = -1;
    for (const [id, eventId] of this.deleteDeliveries(gone)) {
      const index = position.get(id);
      const delivery = index === undefined ? undefined : lane.deliveries[index];
      touched.set(eventId, delivery?.receivedAt);
      removed++;
      bytes += delivery?.body.length ?? 0;
      if (index !== undefined && index > last) last = index;
    }
    // A claimed delivery after the last one removed is still in the lane: it is not done.
    const more = retryAt === null && last >= 0 && last < lane.deliveries.length - 1;
    if (retryAt === null && removed > 0 && !more && stmt.laneDeleteIfDone.run(lane.sink, lane.jobId, removed).changes === 1) {
      // The lane is empty: nothing to move.
    } else if (removed > 0 || retryAt !== null) {
      if (stmt.laneMoveToFirst.run(retryAt, removed, bytes, lane.sink, lane.jobId).changes === 0) stmt.laneDelete.run(lane.sink, lane.jobId);
    }
    this.counters.add(lane.sink, -removed, -bytes, dead);
  }

  /** Deletes deliveries by id: [id, event id] of each that was there. */
  private deleteDeliveries(ids: readonly number[]): Array<[number, number]> {
    if (ids.length === 0) return [];
    if (ids.length === 1) {
      const row = this.stmt.deliveryDelete.get(ids[0]) as { eventId: number } | undefined;
      return row ? [[ids[0]!, row.eventId]] : [];
    }
    return this.stmt.deliveriesDelete.all(JSON.stringify(ids)) as Array<[number, number]>;
  }

  /** A row each: an insert from a JSON list (json_each, ->> per column) measured no cheaper. */
  private recordAttempts(sink: string, attempts: readonly AttemptRecord[]): void {
    for (const a of attempts) this.stmt.attemptPut.run(a.eventId, a.deliveryId, sink, a.at, a.durationMs, a.outcome, a.statusCode, a.error);
  }

  /**
   * Forgets the touched events nothing refers to any more, unless history keeps them
   * (received after the cutoff: not even tried), and counts the kept ones as history.
   */
  private collect(touched: ReadonlyMap<number, number | undefined>, gone: number[]): void {
    if (touched.size === 0) return;
    const cutoff = this.history.cutoff();
    const candidates: number[] = [];
    for (const [eventId, receivedAt] of touched) if (receivedAt === undefined || receivedAt <= cutoff) candidates.push(eventId);
    const deleted = new Set(this.gcEvents(candidates, cutoff));
    const kept: number[] = [];
    for (const eventId of touched.keys()) {
      if (!deleted.has(eventId)) {
        kept.push(eventId);
        continue;
      }
      this.bodies.delete(eventId);
      gone.push(eventId);
    }
    this.counters.keepAllIfUnreferenced(kept);
  }

  private gcEvents(eventIds: readonly number[], cutoff: number): number[] {
    if (eventIds.length === 0) return [];
    if (eventIds.length === 1) {
      const [id] = eventIds as [number];
      return this.stmt.gcEvent.run(id, cutoff, id, id).changes === 1 ? [id] : [];
    }
    return this.stmt.eventsGc.all(JSON.stringify(eventIds), cutoff) as number[];
  }

  /** Forgets the claims on a sink's lanes (parked): their settlements are then ignored. */
  release(sink: string): void {
    for (const key of this.claimed.keys()) if (key.startsWith(`${sink}\0`)) this.claimed.delete(key);
  }

  nextDueAt(sink: string): number | null {
    return (this.stmt.nextDue.get(sink, this.now()) as { at: number | null }).at;
  }
}
