import type { SinkOutcome } from './store.js';

/**
 * What the store knows of one sink and one event, read by each store in its own SQL:
 * the sink's last recorded attempt, its pending delivery, its dead letter.
 */
export type OutcomeFact = { eventId: number; sink: string } & (
  | { kind: 'last_attempt'; outcome: string }
  | { kind: 'pending'; attempts: number }
  | { kind: 'dead_letter' }
);

/** What outranks what: a pending delivery or a dead letter is now; an attempt is the past. */
const RANK: Record<OutcomeFact['kind'], number> = { last_attempt: 0, pending: 1, dead_letter: 2 };

/**
 * Where one sink stands with one event, from what the store holds of it:
 * - a dead letter: `dead_lettered`;
 * - a pending delivery: `retrying` once an attempt was made, else `pending`;
 * - neither, its last attempt: `delivered` when it delivered, else `dropped` (a dead letter
 *   dropped or expired, or a delivery parked and then dropped: nothing will deliver it).
 */
function outcomeOf(fact: OutcomeFact): SinkOutcome {
  switch (fact.kind) {
    case 'dead_letter':
      return 'dead_lettered';
    case 'pending':
      return fact.attempts > 0 ? 'retrying' : 'pending';
    case 'last_attempt':
      return fact.outcome === 'delivered' ? 'delivered' : 'dropped';
  }
}

/** Each event's sinks with their outcome, for both stores (every id gets an entry). */
export function sinkOutcomes(ids: readonly number[], facts: readonly OutcomeFact[]): Map<number, Record<string, SinkOutcome>> {
  const out = new Map<number, Record<string, SinkOutcome>>(ids.map((id) => [id, {}]));
  const rank = new Map<string, number>();
  for (const fact of facts) {
    const key = `${fact.eventId}\0${fact.sink}`;
    if ((rank.get(key) ?? -1) > RANK[fact.kind]) continue;
    rank.set(key, RANK[fact.kind]);
    const sinks = out.get(fact.eventId);
    if (sinks) sinks[fact.sink] = outcomeOf(fact);
  }
  return out;
}
