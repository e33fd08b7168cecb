/** Thrown by `withDeadline` when the work did not settle in time. */
export class DeadlinePassed extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not finish within ${ms} ms`);
  }
}

/**
 * Settles with `work`, or rejects with DeadlinePassed after `ms`. The work itself goes on
 * (a statement in flight cannot be taken back; its own timeout ends it): only the caller
 * stops waiting for it, so one stuck transaction never holds up the ones behind it.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlinePassed(what, ms)), ms);
  });
  work.catch(() => undefined); // a failure after the deadline is nobody's to handle
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
