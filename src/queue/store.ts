/**
 * The queue's storage boundary. Everything durable — events, deliveries, lanes, dead
 * letters, dedupe keys, counters — is read and written through this interface, and SQL
 * lives only in its implementations (`sqlite/` today; a PostgreSQL store shared by
 * several relays is next, so nothing here assumes one process or a synchronous driver).
 *
 * A **lane** is one sink and one job: the unit of ordering. Deliveries of a lane reach
 * the sink one after the other in the order their events were accepted; a lane whose
 * head failed waits (backoff) with everything behind it, and costs nothing to read
 * while it waits. Lanes of different jobs are independent.
 */

export interface EnqueueItem {
  source: string;
  type: string;
  jobId: string;
  /** null: no dedupe for this event. */
  dedupeKey: string | null;
  /** The bytes every sink is handed (as received, less a leading BOM). */
  body: Buffer;
  /** The sinks it is routed to; one delivery each. */
  sinks: readonly string[];
  /** A page event's URL (`pageUrlOf`), kept for the console's lists; null for other events. */
  url?: string | null;
}

export interface EnqueueResult {
  /** null when nothing was stored: a duplicate, or (history off) an event no route matched. */
  eventId: number | null;
  duplicate: boolean;
  /**
   * Sinks over their `max_pending_bytes` with `when_full: dead_letter`: the event was
   * stored and its delivery to these sinks parked as a dead letter at once (replayable).
   */
  parked: readonly string[];
}

/** One stored delivery, with what a sink needs of its event. */
export interface StoredDelivery {
  id: number;
  eventId: number;
  sink: string;
  jobId: string;
  /** Attempts already made (0 before the first). */
  attempts: number;
  createdAt: number;
  receivedAt: number;
  source: string;
  type: string;
  body: Buffer;
}

/** A due lane taken by one dispatcher, with the deliveries at its head, in order. */
export interface ClaimedLane {
  readonly sink: string;
  readonly jobId: string;
  /** A prefix of the lane, oldest first; never empty. */
  readonly deliveries: readonly StoredDelivery[];
  /** Passed back on settle: a store shared by several relays fences stale owners with it. */
  readonly token: string;
}

export interface ClaimLimits {
  /** At most this many lanes. */
  lanes: number;
  /** At most this many deliveries in all (each lane gives at least one). */
  events: number;
  /** Past the first delivery, at most this many body bytes in all. */
  bytes: number;
}

export type LaneFailure =
  /** Retried at `retryAt`; `countAttempt: false` for aborts at shutdown and "not connected". */
  | { id: number; error: string; retryAt: number; countAttempt: boolean }
  /** Parked as a dead letter with `error` as its reason; the lane goes on with the next. */
  | { id: number; error: string; dead: true };

/** What one write of one delivery did, as history keeps it. */
export type AttemptOutcome = 'delivered' | 'failed' | 'dead_lettered';

export interface AttemptRecord {
  deliveryId: number;
  eventId: number;
  /** When the write started (ms since epoch). */
  at: number;
  durationMs: number;
  outcome: AttemptOutcome;
  /** The destination's status code, when the sink reported one. */
  statusCode: number | null;
  error: string | null;
}

/** What became of a claimed lane: a delivered prefix, then at most one failure. */
export interface LaneSettlement {
  lane: ClaimedLane;
  /** The writes made, kept as history when it is on (deliveries of `lane.sink`). */
  attempts?: readonly AttemptRecord[];
  /** Ids delivered, a prefix of `lane.deliveries` in order. */
  delivered: readonly number[];
  /**
   * The first delivery that was not delivered, if it was tried. Deliveries after it (and
   * any not tried) stay in the lane untouched. With no failure and nothing delivered
   * the lane is simply given back.
   */
  failure?: LaneFailure;
  /**
   * The lane is still being written: record `delivered` and `attempts` only and keep the
   * claim (and its lease); a later settlement without `hold` gives the lane back. A
   * per-event sink settles each event so, as it is delivered, so that a relay killed
   * mid-lane repeats at most the event it was writing. Never with a `failure`.
   */
  hold?: boolean;
}

/** Maintained per sink: reading them is O(sinks), never a scan. */
export interface SinkCounters {
  pending: number;
  pendingBytes: number;
  /** created_at of the sink's oldest pending delivery, null when none. */
  oldestCreatedAt: number | null;
  deadLetters: number;
}

export interface SinkLimit {
  maxPendingBytes: number;
  whenFull: 'dead_letter' | 'reject';
}

export interface DeadLetter {
  id: number;
  eventId: number;
  sink: string;
  jobId: string;
  type: string;
  attempts: number;
  createdAt: number;
  failedAt: number;
  lastError: string | null;
}

export interface DeadLetterFilter {
  ids?: readonly number[];
  sink?: string;
  type?: string;
  jobId?: string;
  /** failed at or after (ms since epoch) */
  since?: number;
  /** failed before (ms since epoch) */
  until?: number;
  limit?: number;
}

export interface DeadLetterStore {
  list(filter?: DeadLetterFilter): Promise<DeadLetter[]>;
  /** The dead letter with its event's body, or undefined. */
  get(id: number): Promise<(DeadLetter & { body: Buffer }) | undefined>;
  /** Puts the matching dead letters back at the end of their lanes; returns how many. */
  replay(filter: DeadLetterFilter): Promise<number>;
  /** Replays in chunks (one transaction each), reporting progress after each. */
  replayInChunks(filter: DeadLetterFilter, chunk: number, progress: (done: number, total: number) => void): Promise<number>;
  drop(filter: DeadLetterFilter): Promise<number>;
  /** Drops dead letters that failed before `before` (retention); returns how many. */
  expire(before: number): Promise<number>;
  /** Drops the oldest dead letters until their events' bodies hold at most `maxBytes`; returns how many. */
  trimToBytes(maxBytes: number): Promise<number>;
}

/**
 * Where one sink stands with one event (`sink-outcome.ts` says how each is read). `dropped`:
 * it failed and nothing will deliver it any more (its dead letter was dropped or expired).
 */
export type SinkOutcome = 'pending' | 'retrying' | 'delivered' | 'dead_lettered' | 'dropped';

/** An event's outcome filter: a sink's outcome, or `unrouted` (no route matched it: kept with no sinks). */
export type EventOutcome = SinkOutcome | 'unrouted';

export interface EventFilter {
  /** A type (`crawl.page`), or a prefix ending in `*` (`crawl.*`). */
  type?: string;
  /** Page events whose stored URL contains this, in any case. */
  url?: string;
  jobId?: string;
  sink?: string;
  /** With `sink`, that sink's outcome; else any sink's. `unrouted`: events no route matched. */
  outcome?: EventOutcome;
  /** received at or after (ms since epoch) */
  since?: number;
  /** received before (ms since epoch) */
  until?: number;
  /** Oldest first (a job in order); newest first by default. */
  oldestFirst?: boolean;
  /** Cursor: events past this id in the listing's order (the last id of the previous page). */
  cursor?: number;
  limit?: number;
}

export interface EventSummary {
  id: number;
  receivedAt: number;
  source: string;
  type: string;
  jobId: string;
  /** A page event's page: its first page's `metadata.url` (else `sourceURL`), as the payload says; null for other events. */
  url: string | null;
  /** Each sink the event went to, with where it stands now. */
  sinks: Record<string, SinkOutcome>;
}

/** What a backfill's `accept` reads of a stored event: enough to route it again. */
export interface StoredEventHead {
  source: string;
  jobId: string;
  body: Buffer;
}

export interface StoredAttempt extends AttemptRecord {
  sink: string;
}

export interface EventDetail extends EventSummary {
  body: Buffer;
  /** Oldest first. */
  attempts: StoredAttempt[];
}

/** Delivered and failed attempts of a sink in one minute. */
export interface SinkMinute {
  sink: string;
  /** Start of the minute (ms since epoch). */
  minute: number;
  delivered: number;
  failed: number;
}

export interface HistoryOptions {
  /** Events are kept this long after they were received (0: history off, events go once delivered). */
  retentionMs: number;
  /** Past this many bytes in use, history is pruned oldest first. */
  maxBytes: number;
}

/**
 * Delivered events and every attempt, kept for the console and for backfills. Pending
 * deliveries and dead letters are never pruned: only events nothing waits for.
 */
export interface HistoryStore {
  readonly enabled: boolean;
  /** Events received after this are kept once nothing waits for them (the retention window's start). */
  cutoff(): number;
  /** Newest first, or oldest first with `oldestFirst`. */
  list(filter: EventFilter): Promise<EventSummary[]>;
  get(id: number): Promise<EventDetail | undefined>;
  /** Per sink and minute, attempts since `since`. */
  activity(since: number): Promise<SinkMinute[]>;
  /** Stored events received since `since`, per type (what every replica of a shared store sees alike). */
  receivedByType(since: number): Promise<Record<string, number>>;
  /**
   * Queues the stored events matching `filter` (oldest first) for `sink` again, in chunks
   * (one transaction each), reporting progress after each (queued so far, of the events the
   * filter matched); with `accept`, only the events it accepts; returns how many.
   */
  backfill(
    sink: string,
    filter: EventFilter,
    chunk: number,
    progress: (done: number, total: number) => void,
    accept?: (event: StoredEventHead) => boolean,
  ): Promise<number>;
  /** Drops, in small chunks, events past retention or over the byte bound; returns how many. */
  prune(): Promise<number>;
}

export interface QueueStore {
  /** Durable before it resolves; requests of one event-loop turn share one commit. */
  enqueue(item: EnqueueItem): Promise<EnqueueResult>;
  /** A store shared by several relays: true once a lease renewal found the lane taken over by another. */
  leaseLost?(lane: ClaimedLane): boolean;
  /** Called after each commit with the sinks that got new deliveries. */
  onEnqueued(listener: (sinks: ReadonlySet<string>) => void): () => void;

  /**
   * Takes due lanes of `sink` not already claimed, oldest head first, with their head
   * deliveries. Costs O(what it returns): lanes in backoff are never read.
   */
  claim(sink: string, limits: ClaimLimits): Promise<ClaimedLane[]>;
  /** Records what writes achieved and gives the lanes back. */
  settle(outcomes: readonly LaneSettlement[]): Promise<void>;
  /**
   * Called after a settle removed events no sink and no dead letter needs any more, so
   * in-memory copies can go at once. Optional: without it, such copies age out.
   */
  onEventsRemoved?(listener: (eventIds: readonly number[]) => void): () => void;
  /** When the next lane of `sink` in backoff becomes due, if any. */
  nextDueAt(sink: string): Promise<number | null>;

  /** Per-sink bounds checked at enqueue (`max_pending_bytes`, `when_full`). */
  setSinkLimits(limits: ReadonlyMap<string, SinkLimit>): void;
  /**
   * Parks every pending delivery of a sink not in `keep` as a dead letter with
   * `reason(sink)`; returns how many per sink. Used at start and after a reload.
   */
  parkSinksExcept(keep: ReadonlySet<string>, reason: (sink: string) => string): Promise<Map<string, number>>;

  readonly deadLetters: DeadLetterStore;
  readonly history: HistoryStore;

  /** Sinks an operator paused: they claim nothing until resumed. Shared by every relay on the store. */
  pausedSinks(): Promise<Set<string>>;
  setPaused(sink: string, paused: boolean): Promise<void>;

  counters(): ReadonlyMap<string, SinkCounters>;
  /** Bytes in use, the figure `queue.max_bytes` bounds. */
  usedBytes(): number;
  /** Whether an event could be accepted now. */
  writable(): { ready: boolean; error: string | null };

  /** Forgets dedupe keys older than the window; returns how many. */
  pruneDedupe(): Promise<number>;
  /** Commits what is waiting, then closes. */
  close(): Promise<void>;
}
