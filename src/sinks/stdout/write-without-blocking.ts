import { writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long a full terminal is left alone before the next attempt. */
const RETRY_MS = 20;

/**
 * Writes all of `data` to a non-blocking descriptor: while it is full (EAGAIN) the write
 * waits and tries again, never holding the process, until it is done or `signal` aborts it
 * (the write timeout, shutdown). Any other failure rejects.
 */
export async function writeWithoutBlocking(fd: number, data: Buffer, signal: AbortSignal): Promise<void> {
  let rest = data;
  while (rest.length > 0) {
    signal.throwIfAborted();
    try {
      rest = rest.subarray(writeSync(fd, rest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      await sleep(RETRY_MS, undefined, { signal });
    }
  }
}
