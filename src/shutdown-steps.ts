import type { ShutdownTracker } from './relay.js';

/** A shutdown step that threw, with its name (RELAY_ERR_SHUTDOWN_FAILED names it). */
export class ShutdownStepError extends Error {
  constructor(
    readonly step: string,
    options: { cause: unknown },
  ) {
    super(`shutdown step "${step}" failed`, options);
    this.name = 'ShutdownStepError';
  }
}

/**
 * Runs the steps of a shutdown, each reported to `track` from its start until it settled.
 * A step that throws does not stop the others (they run beside it or after it, and the
 * queue still closes); `finish` then throws the first failure with its step's name.
 */
export class ShutdownSteps {
  private failure: ShutdownStepError | null = null;

  constructor(private readonly track: ShutdownTracker) {}

  async run(step: string, work: () => Promise<unknown>): Promise<void> {
    const done = this.track(step);
    try {
      await work();
    } catch (err) {
      this.failure ??= new ShutdownStepError(step, { cause: err });
    } finally {
      done();
    }
  }

  finish(): void {
    if (this.failure) throw this.failure;
  }
}
