import type { EventEmitter } from 'node:events';

/**
 * `firecrawl-relay dlq list | head -1`: once the reader has gone, writing to stdout fails
 * with EPIPE. Nothing is left to tell that reader: end quietly (status 0, as `head` wanted)
 * instead of a stack trace. Any other error of the stream is thrown as before.
 */
export function exitQuietlyOnEpipe(stream: EventEmitter, exit: (code: number) => void = (code) => process.exit(code)): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') return exit(0);
    throw err;
  });
}
