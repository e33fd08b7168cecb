import type { RelayConfig } from '../config/types.js';
import { describePostgres } from './postgres/pool.js';
import { PostgresQueueStore } from './postgres/store.js';
import { openSqliteStore } from './sqlite/store.js';
import type { QueueStore } from './store.js';

export interface OpenStoreOptions {
  now?: (() => number) | undefined;
  /** `dlq` beside running relays: no dedupe window of its own to apply. */
  dedupeWindowSeconds?: number;
}

/** The queue store `queue.store` names: the embedded SQLite file, or a PostgreSQL database shared by replicas. */
export async function openStore(queue: RelayConfig['queue'], options: OpenStoreOptions = {}): Promise<QueueStore> {
  const common = {
    maxBytes: queue.max_bytes,
    dedupeWindowSeconds: options.dedupeWindowSeconds ?? queue.dedupe_window_seconds,
    ...(options.now ? { now: options.now } : {}),
  };
  if (queue.store === 'postgres') return PostgresQueueStore.open({ ...common, url: queue.url!, schema: queue.schema, leaseMs: queue.lease_ms });
  return openSqliteStore({ ...common, dir: queue.dir });
}

/** Where the queue is, for logs and `check`: never the credentials of a database URL. */
export function describeQueue(queue: RelayConfig['queue']): string {
  return queue.store === 'postgres' ? describePostgres({ url: queue.url ?? '', schema: queue.schema }) : queue.dir;
}
