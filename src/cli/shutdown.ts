import { constants } from 'node:os';
import type { Logger } from 'pino';
import { RelayError, describeError } from '../errors.js';
import type { LogDestination } from '../log-destination.js';
import type { Relay } from '../relay.js';

/** How long past `server.shutdown_timeout_ms` the process may live, whatever hangs. */
export const HARD_EXIT_MARGIN_MS = 2_000;

export interface ShutdownOptions {
  relay: Relay;
  logger: Logger;
  destination: LogDestination;
}

/**
 * SIGTERM/SIGINT: stop taking webhooks, drain within `server.shutdown_timeout_ms`, flush
 * the log, exit 0. Whatever hangs (a sink's write or close, a request, a full stderr), the
 * process exits 1 at the deadline plus a margin; a second signal exits at once. Either way
 * the last line names the steps that had not finished.
 */
export function handleShutdownSignals({ relay, logger, destination }: ShutdownOptions): { isStopping: () => boolean } {
  let stopping = false;
  const running = new Set<string>();
  const track = (step: string): (() => void) => {
    running.add(step);
    return () => running.delete(step);
  };
  const unfinished = (): string => (running.size > 0 ? [...running].join(', ') : 'none');

  // The last line may not wait behind lines a full stderr holds back, nor wait at all.
  const exitWith = (code: number, error: RelayError): void => {
    destination.abandonPending();
    logger.fatal({ code: error.code, exit_code: code }, error.message);
    process.exit(code);
  };

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      exitWith(128 + constants.signals[signal], new RelayError('RELAY_ERR_SHUTDOWN_INTERRUPTED', [signal, unfinished()]));
      return;
    }
    stopping = true;
    const timeoutMs = relay.config.server.shutdown_timeout_ms;
    logger.info({ signal, timeout_ms: timeoutMs }, 'shutting down');
    // Kept referenced on purpose: a step awaiting a promise that never settles leaves the
    // event loop empty, and Node would then exit 0 without a word.
    const hardExit = setTimeout(
      () => exitWith(1, new RelayError('RELAY_ERR_SHUTDOWN_DEADLINE', [timeoutMs + HARD_EXIT_MARGIN_MS, HARD_EXIT_MARGIN_MS, unfinished()])),
      timeoutMs + HARD_EXIT_MARGIN_MS,
    );
    relay
      .close(timeoutMs, track)
      .then(
        () => {
          logger.info('relay stopped');
          return 0;
        },
        (err: unknown) => {
          const error = new RelayError('RELAY_ERR_SHUTDOWN_FAILED', [unfinished(), describeError(err)]);
          logger.error({ code: error.code }, error.message);
          return 1;
        },
      )
      .then(async (code) => {
        const flushed = track('log flush (lines waiting for standard error)');
        await destination.drained();
        flushed();
        clearTimeout(hardExit);
        process.exit(code);
      });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return { isStopping: () => stopping };
}
