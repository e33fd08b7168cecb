import type { RelayConfig } from '../config/types.js';
import { PostgresQueueStore } from './postgres/store.js';
import { openSqliteStore } from './sqlite/store.js';
import type { QueueStore } from './store.js';

export interface OpenStoreOptions {
  now?: (() => number) | undefined;
  /** `dlq` beside running relays: no dedupe window of its own to apply. */
  dedupeWindowSeconds?: number;
  /** `history:` of the config: delivered events and attempts kept (off when not given). */
  history?: RelayConfig['history'];
  /** `serve`: may migrate a shared (PostgreSQL) queue. Offline commands never do: a newer CLI must not upgrade it under an older fleet. */
  migrate?: boolean;
  onMigrationWait?: () => void;
}

/** The queue store `queue.store` names: the embedded SQLite file, or a PostgreSQL database shared by replicas. */
export async function openStore(queue: RelayConfig['queue'], options: OpenStoreOptions = {}): Promise<QueueStore> {
  const common = {
    maxBytes: queue.max_bytes,
    dedupeWindowSeconds: options.dedupeWindowSeconds ?? queue.dedupe_window_seconds,
    ...(options.now ? { now: options.now } : {}),
  };
  const history = options.history && { retentionMs: options.history.retention_seconds * 1000, maxBytes: options.history.max_bytes };
  if (queue.store === 'postgres') {
    return PostgresQueueStore.open({
      ...common,
      url: queue.url!,
      schema: queue.schema,
      leaseMs: queue.lease_ms,
      migrate: options.migrate ?? false,
      ...(options.onMigrationWait ? { onMigrationWait: options.onMigrationWait } : {}),
      ...(history ? { history } : {}),
    });
  }
  return openSqliteStore({ ...common, dir: queue.dir, ...(history ? { history } : {}) });
}
