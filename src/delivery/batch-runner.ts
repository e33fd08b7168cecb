import { RelayError } from '../errors.js';
import type { BatchSink, RelayEvent } from '../plugin-api/types.js';
import type { AttemptRecord, ClaimedLane, LaneFailure, StoredDelivery } from '../queue/store.js';
import { attemptOf, failureOf, measuredWrite, tokensFor, type LaneResult, type WriteContext } from './context.js';
import { toEvent } from './event.js';
import { unreadable } from './failure.js';
import { failedIndexes } from './write-result.js';

/** What a batch write's success says of each event in it. */
const WRITTEN = { ok: true, value: null } as const;

interface Entry {
  lane: number;
  delivery: StoredDelivery;
  event: RelayEvent;
}

/** A job's event reported written after an earlier one of the job failed: the destination has them out of order. */
function warnIfOrderBroken(entries: readonly Entry[], failed: ReadonlyMap<number, unknown>, context: WriteContext): void {
  const failedLanes = new Map<number, number>();
  for (const [position, entry] of entries.entries()) {
    const first = failedLanes.get(entry.lane);
    if (first !== undefined && !failed.has(position)) {
      context.misused?.(new RelayError('RELAY_ERR_SINK_ORDER_BROKEN', [context.config.name, first]));
      return;
    }
    if (first === undefined && failed.has(position)) failedLanes.set(entry.lane, position);
  }
}

/**
 * Writes the heads of several lanes as one batch to a batch-native sink, each lane's
 * events consecutive and in order, and maps the outcome back to lanes: a lane is delivered
 * up to its first failed event, which fails (the events after it are not attempts). A
 * throw fails every lane at its first event. An event whose body cannot be read fails
 * alone, before the write, and its lane's later events are left out of the batch.
 */
export async function writeBatch(lanes: readonly ClaimedLane[], sink: BatchSink, context: WriteContext): Promise<{ results: LaneResult[]; threw: boolean }> {
  const entries: Entry[] = [];
  const unread = new Map<number, { failure: LaneFailure; error: unknown }>();
  lanes.forEach((lane, index) => {
    for (const delivery of lane.deliveries) {
      try {
        entries.push({ lane: index, delivery, event: toEvent(delivery, context.payloads) });
      } catch (error) {
        unread.set(index, { failure: unreadable(delivery, error), error });
        break;
      }
    }
  });

  let failed = new Map<number, unknown>();
  let thrown: unknown;
  let outcome: Awaited<ReturnType<typeof measuredWrite>> | null = null;
  // Stopped or paused while waiting for the rate limit: nothing written, every lane given back as it was.
  if (entries.length > 0 && !context.stopping.aborted && (await tokensFor(context, entries.length))) {
    const events = entries.map((e) => e.event);
    let written = await measuredWrite(context, (signal) => sink.write(events, signal));
    if (written.ok) {
      try {
        failed = failedIndexes(context.config.name, written.value, entries.length);
      } catch (error) {
        written = { ok: false, error, aborted: null, at: written.at, durationMs: written.durationMs };
      }
    }
    if (!written.ok) thrown = written.error;
    else warnIfOrderBroken(entries, failed, context);
    outcome = written;
  }

  // Each lane's events are consecutive in the batch: where each lane's run starts.
  const starts = new Map<number, number>();
  for (let position = entries.length - 1; position >= 0; position--) starts.set(entries[position]!.lane, position);
  const results = lanes.map((lane, index): LaneResult => {
    const delivered: number[] = [];
    // Every event of the batch shares the write's time and duration.
    const attempts: AttemptRecord[] = [];
    const failing = (delivery: StoredDelivery, failure: LaneFailure, error: unknown): LaneResult => {
      const attempt = outcome && attemptOf(delivery, outcome, { ok: false, error, failure });
      if (attempt) attempts.push(attempt);
      return { settlement: { lane, delivered, attempts, failure }, error };
    };
    for (let position = starts.get(index) ?? entries.length; outcome && position < entries.length && entries[position]!.lane === index; position++) {
      const entry = entries[position]!;
      if (!outcome.ok) return failing(entry.delivery, failureOf(context, entry.delivery, outcome), thrown);
      if (failed.has(position)) {
        const error = failed.get(position);
        return failing(entry.delivery, failureOf(context, entry.delivery, { ok: false, error, aborted: null }), error);
      }
      delivered.push(entry.delivery.id);
      const attempt = attemptOf(entry.delivery, outcome, WRITTEN);
      if (attempt) attempts.push(attempt);
    }
    const own = unread.get(index);
    return own ? { settlement: { lane, delivered, attempts, failure: own.failure }, error: own.error } : { settlement: { lane, delivered, attempts } };
  });
  // `threw`, not `thrown !== undefined`: a sink may throw undefined (or null).
  return { results, threw: outcome !== null && !outcome.ok };
}
