import type { RelayConfig } from '../config/types.js';

// Apart from the stores: `check` describes a queue without loading pg or better-sqlite3.

/** Where the queue is, for messages and logs: the URL without its credentials, and the schema. */
export function describePostgres(options: { url: string; schema?: string | undefined }): string {
  let where = 'postgres';
  try {
    const url = new URL(options.url);
    where = `postgres://${url.host}${url.pathname}`;
  } catch {
    // not a URL (a libpq keyword string): say nothing of it
  }
  return options.schema ? `${where} (schema ${options.schema})` : where;
}

/** Where the queue is, for logs and `check`: never the credentials of a database URL. */
export function describeQueue(queue: RelayConfig['queue']): string {
  return queue.store === 'postgres' ? describePostgres({ url: queue.url ?? '', schema: queue.schema }) : queue.dir;
}
