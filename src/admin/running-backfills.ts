import { RelayError } from '../errors.js';

/**
 * The backfills this relay is running, by sink and filter as asked. A second identical
 * request (a double click, a retried curl) while the first runs would queue every event
 * twice: it is refused instead. Another filter, or the same one once the first ended, runs.
 */
export class RunningBackfills {
  readonly #running = new Set<string>();

  /** Runs `task` unless the same backfill is running; RELAY_ERR_ADMIN_BACKFILL_RUNNING if it is. */
  async run<T>(request: { sink: string; since: string; until?: string; type?: string; job?: string; url?: string }, task: () => Promise<T>): Promise<T> {
    const { sink, since, until, type, job, url } = request;
    // Fixed key order, so the same fields in another order are the same backfill.
    const key = JSON.stringify([sink, since, until ?? null, type ?? null, job ?? null, url ?? null]);
    if (this.#running.has(key)) throw new RelayError('RELAY_ERR_ADMIN_BACKFILL_RUNNING', [sink, describe(request)]);
    this.#running.add(key);
    try {
      return await task();
    } finally {
      this.#running.delete(key);
    }
  }
}

function describe(request: Record<string, string | undefined>): string {
  return ['since', 'until', 'type', 'job', 'url']
    .filter((name) => request[name] !== undefined)
    .map((name) => `${name}=${request[name]}`)
    .join(' ');
}
