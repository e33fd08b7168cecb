/**
 * Errors a sink throws (or reports per event) to tell the relay what to do next.
 * Any other error is treated as retryable.
 */

/** Retry later; `retryAfterMs` (e.g. from a 429 Retry-After) overrides the backoff. */
export class RetryableError extends Error {
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options);
    this.name = 'RetryableError';
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** Never retry: the event goes straight to the dead-letter queue (e.g. HTTP 410, 400). */
export class PermanentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentError';
  }
}

/** The connection is gone: the relay calls `connect()` again before the next write. */
export class NotConnectedError extends Error {
  constructor(message = 'not connected', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotConnectedError';
  }
}
