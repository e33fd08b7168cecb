import { RelayError } from '../errors.js';
import type { EventSink } from '../plugin-api/types.js';
import type { AttemptRecord, ClaimedLane, LaneFailure } from '../queue/store.js';
import { attemptOf, failureOf, measuredWrite, tokensFor, type LaneResult, type WriteContext } from './context.js';
import { toEvent } from './event.js';
import { unreadable } from './failure.js';

/**
 * Delivers one lane of a per-event sink: its events one at a time, in order, stopping at
 * the first failure (the events behind it wait with it). Each delivered event is recorded
 * before the next is written (`settleHeld`), so a relay killed mid-lane repeats at most the
 * one event it was writing, not the lane's whole claim. Stops early, leaving the rest
 * untouched, when the runner stops, the whole sink pauses, another relay took the lane
 * over, or a delivery could not be recorded (the final settlement carries it again).
 */
export async function runLane(lane: ClaimedLane, sink: EventSink, context: WriteContext): Promise<LaneResult> {
  /** Delivered, not yet recorded. */
  let delivered: number[] = [];
  let attempts: AttemptRecord[] = [];
  let settledEarly = 0;
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
      if (Array.isArray((outcome.value as { failed?: unknown } | null | undefined)?.failed)) context.misused?.(new RelayError('RELAY_ERR_SINK_DELIVER_RESULT', [context.config.name]));
      delivered.push(delivery.id);
      const attempt = attemptOf(delivery, outcome, outcome);
      if (attempt) attempts.push(attempt);
      if (!context.settleHeld) continue;
      try {
        await context.settleHeld({ lane, delivered, attempts, hold: true });
      } catch {
        break; // not recorded (the store failed): the lane's final settlement tries again
      }
      settledEarly += delivered.length;
      delivered = [];
      attempts = [];
      continue;
    }
    failure = failureOf(context, delivery, outcome);
    error = outcome.error;
    const attempt = attemptOf(delivery, outcome, { ok: false, error, failure });
    if (attempt) attempts.push(attempt);
    break;
  }
  return {
    settlement: { lane, delivered, attempts, ...(failure ? { failure } : {}) },
    ...(failure ? { error } : {}),
    ...(settledEarly > 0 ? { settledEarly } : {}),
  };
}
