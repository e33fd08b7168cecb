import { closeSync } from 'node:fs';
import { nonBlockingTty } from '../../nonblocking-tty.js';
import { defineSink, Enum, rawLine, Type, type RelayEvent, type Static } from '../../plugin-api/index.js';
import { writeWithoutBlocking } from './write-without-blocking.js';

const STDOUT_OPTIONS_SCHEMA = Type.Object(
  {
    /** `event`: the body as received, on one line; `summary`: type, job, success and page count only. */
    format: Enum(['event', 'summary'], { default: 'event' }),
  },
  { additionalProperties: false },
);

export type StdoutSinkOptions = Static<typeof STDOUT_OPTIONS_SCHEMA>;

function summary(event: RelayEvent): Record<string, unknown> {
  const data = event.payload.data;
  return {
    type: event.type,
    id: event.jobId,
    success: event.success,
    items: Array.isArray(data) ? data.length : 1,
    ...(event.payload.error ? { error: event.payload.error } : {}),
    received_at: event.receivedAt.toISOString(),
  };
}

/**
 * A closed standard output (EPIPE) is reported by each write's callback, which fails the
 * delivery (retried, then dead-lettered, by the sink's retry settings); Node also emits it
 * as an 'error' event, which would crash the relay without a listener.
 */
function ignoreStdoutErrorEvent(): void {}

/** A JSON line per event on standard output (the relay's logs go to standard error). */
export default defineSink({
  type: 'stdout',
  configSchema: STDOUT_OPTIONS_SCHEMA,
  create(options) {
    // On a terminal, a descriptor of our own that never blocks: Node's stdout on a terminal
    // blocks the whole relay when the terminal stops taking output (Ctrl-S, a stalled ssh).
    const tty = nonBlockingTty(1);
    // Ends a write still waiting for the terminal before its descriptor is closed (and its number reused).
    const closing = new AbortController();
    if (tty === 1 && !process.stdout.listeners('error').includes(ignoreStdoutErrorEvent)) process.stdout.on('error', ignoreStdoutErrorEvent);
    return {
      async write(batch, signal) {
        signal.throwIfAborted();
        // `event` prints the received bytes: a re-serialisation would change numbers such as 1e999.
        const text = batch.map((e) => `${options.format === 'summary' ? JSON.stringify(summary(e)) : rawLine(e.raw)}\n`).join('');
        if (tty !== 1) return writeWithoutBlocking(tty, Buffer.from(text), AbortSignal.any([signal, closing.signal]));
        await new Promise<void>((resolve, reject) => {
          process.stdout.write(text, (err) => (err ? reject(err) : resolve()));
        });
      },
      async close() {
        closing.abort(new Error('stdout sink closed'));
        if (tty !== 1) closeSync(tty);
      },
    };
  },
});
