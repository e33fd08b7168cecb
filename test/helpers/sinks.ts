import { defineSink, Type, type RelayEvent, type WriteResult } from '../../src/plugin-api/index.js';

/**
 * A sink for tests of the relay's own delivery logic: records what it was given and
 * fails when told to. It stands in for a destination, never for Kafka or S3.
 */
export class RecordingSink {
  readonly batches: RelayEvent[][] = [];
  /** Return a WriteResult, throw, or return undefined to accept the batch. */
  behaviour: (batch: readonly RelayEvent[], call: number) => Promise<void | WriteResult> | void | WriteResult = () => {};
  calls = 0;
  /** Throw to refuse a connection. */
  connectBehaviour: () => Promise<void> | void = () => {};

  get events(): RelayEvent[] {
    return this.batches.flat();
  }

  definition(type = 'recording') {
    return defineSink({
      type,
      configSchema: Type.Object({}, { additionalProperties: false }),
      create: () => ({
        connect: async () => this.connectBehaviour(),
        write: async (batch: readonly RelayEvent[]) => {
          const call = this.calls++;
          const result = await this.behaviour(batch, call);
          this.batches.push([...batch]);
          return result;
        },
      }),
    });
  }
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
