import type { EventSink } from '../plugin-api/types.js';
import type { ClaimedLane, LaneFailure } from '../queue/store.js';
import type { AttemptRecord } from '../queue/store.js';
import { attemptOf, failureOf, measuredWrite, tokensFor, type LaneResult, type WriteContext } from './context.js';
import { toEvent } from './event.js';
import { unreadable } from './failure.js';

/**
 * Delivers one lane of a per-event sink: its events one at a time, in order, stopping at
 * the first failure (the events behind it wait with it). Stops early, leaving the rest
 * untouched, when the runner stops, the whole sink pauses or another relay took the lane over.
 */
export async function runLane(lane: ClaimedLane, sink: EventSink, context: WriteContext): Promise<LaneResult> {
  const delivered: number[] = [];
  const attempts: AttemptRecord[] = [];
  const record = (attempt: AttemptRecord | null): void => {
    if (attempt) attempts.push(attempt);
  };
  let failure: LaneFailure | undefined;
  let error: unknown;
  for (const delivery of lane.deliveries) {
    if (context.stopping.aborted || context.paused() || context.leaseLost?.(lane)) break;
    let event;
    try {
      event = toEvent(delivery, context.payloads);
    } catch (err) {
      failure = unreadable(delivery, err);
      error = err;
      break;
    }
    if (!(await tokensFor(context, 1))) break;
    const outcome = await measuredWrite(context, (signal) => sink.deliver(event, signal));
    if (outcome.ok) {
      delivered.push(delivery.id);
      record(attemptOf(delivery, outcome, outcome));
      continue;
    }
    failure = failureOf(context, delivery, outcome);
    error = outcome.error;
    record(attemptOf(delivery, outcome, { ok: false, error, failure }));
    break;
  }
  return { settlement: { lane, delivered, attempts, ...(failure ? { failure } : {}) }, ...(failure ? { error } : {}) };
}
