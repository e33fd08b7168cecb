/**
 * Errors a sink throws (or reports per event) to tell the relay what to do next.
 * Any other error is treated as retryable.
 *
 * `instanceof` works across copies of this module (a plugin may load the package's build
 * while the relay runs another copy): each class recognises its brand, not its prototype.
 */

const BRAND = Symbol.for('firecrawl-relay.sink-error');

type Brand = 'retryable' | 'permanent' | 'not-connected';

function branded(value: unknown, brand: Brand): boolean {
  return typeof value === 'object' && value !== null && (value as { [BRAND]?: Brand })[BRAND] === brand;
}

/** Retry later; `retryAfterMs` (e.g. from a 429 Retry-After) overrides the backoff. */
export class RetryableError extends Error {
  readonly [BRAND]: Brand = 'retryable';
  readonly retryAfterMs: number | undefined;
  /** The destination's answer (e.g. HTTP 503), shown with the attempt in the console. */
  readonly statusCode: number | undefined;

  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number | undefined; statusCode?: number | undefined }) {
    super(message, options);
    this.name = 'RetryableError';
    this.retryAfterMs = options?.retryAfterMs;
    this.statusCode = options?.statusCode;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return branded(value, 'retryable');
  }
}

/** Never retry: the event goes straight to the dead-letter queue (e.g. HTTP 410, 400). */
export class PermanentError extends Error {
  readonly [BRAND]: Brand = 'permanent';
  /** The destination's answer (e.g. HTTP 410), shown with the attempt in the console. */
  readonly statusCode: number | undefined;

  constructor(message: string, options?: { cause?: unknown; statusCode?: number | undefined }) {
    super(message, options);
    this.name = 'PermanentError';
    this.statusCode = options?.statusCode;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return branded(value, 'permanent');
  }
}

/** The connection is gone: the relay calls `connect()` again before the next write. */
export class NotConnectedError extends Error {
  readonly [BRAND]: Brand = 'not-connected';

  constructor(message = 'not connected', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotConnectedError';
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return branded(value, 'not-connected');
  }
}
