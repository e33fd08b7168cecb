import { defineSink, Enum, Type, type RelayEvent, type Static } from '../../plugin-api/index.js';

const STDOUT_OPTIONS_SCHEMA = Type.Object(
  {
    /** `event`: the whole body; `summary`: type, job, success and page count only. */
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

/** A JSON line per event on standard output (the relay's logs go to standard error). */
export default defineSink({
  type: 'stdout',
  configSchema: STDOUT_OPTIONS_SCHEMA,
  create(options) {
    return {
      async write(batch, signal) {
        signal.throwIfAborted();
        const text = batch.map((e) => `${JSON.stringify(options.format === 'summary' ? summary(e) : e.payload)}\n`).join('');
        await new Promise<void>((resolve, reject) => {
          process.stdout.write(text, (err) => (err ? reject(err) : resolve()));
        });
      },
    };
  },
});
