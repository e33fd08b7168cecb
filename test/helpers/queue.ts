import type { Database } from 'better-sqlite3';
import type { SqliteStore } from '../../src/queue/sqlite/store.js';
import type { DeadLetter, QueueStore } from '../../src/queue/store.js';

/** Anything holding a queue: a Relay, or the store itself wrapped as `{ queue }`. */
type HasQueue = { readonly queue: QueueStore };

/** Deliveries of `sink` waiting (maintained counters, no SQL). */
export const pendingOf = (relay: HasQueue, sink: string): number => relay.queue.counters().get(sink)?.pending ?? 0;

/** Dead letters of `sink`, or of every sink (maintained counters). */
export function deadLetterCount(relay: HasQueue, sink?: string): number {
  if (sink !== undefined) return relay.queue.counters().get(sink)?.deadLetters ?? 0;
  return [...relay.queue.counters().values()].reduce((n, c) => n + c.deadLetters, 0);
}

/** Every dead letter, oldest first. */
export const deadLettersOf = (relay: HasQueue): Promise<DeadLetter[]> => relay.queue.deadLetters.list();

/** Events the queue holds (stored by ingress, not yet finished with by every sink). */
export const storedEvents = (relay: HasQueue): number => (relay.queue as SqliteStore).storedEvents();

/** The SQLite database under the store, for tests that break it on purpose. */
export const sqliteOf = (relay: HasQueue): Database => (relay.queue as SqliteStore).db;
