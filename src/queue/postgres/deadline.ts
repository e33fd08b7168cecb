/** Thrown by `withDeadline` when the work did not settle in time. */
export class DeadlinePassed extends Error {
  /** `ms`: the time it had, measured with performance.now(): a fraction, or below 0 when it was queued past its end. */
  constructor(what: string, ms: number) {
    const whole = Math.round(ms);
    super(whole > 0 ? `${what} did not finish within ${whole} ms` : `${what} was past its deadline before it started`);
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

/**
 * Bytes a group commit is given time for beyond the base deadline, per second: well below
 * what PostgreSQL takes in on a loaded machine, so a body the relay accepts (up to 30 MB)
 * is never refused for its size alone.
 */
export const INGRESS_BYTES_PER_SECOND = 4 * 1024 * 1024;

/** The deadline of a group commit holding `bytes` of bodies: the base, plus time for the bytes. */
export function ingressDeadlineMs(baseMs: number, bytes: number): number {
  return baseMs + Math.ceil((bytes / INGRESS_BYTES_PER_SECOND) * 1000);
}

/**
 * The end of a deadline kept for COMMIT: a group still writing when less than this is left
 * rolls back instead of committing, so only a COMMIT already sent can be applied unanswered.
 */
export function commitReserveMs(baseMs: number): number {
  return Math.min(1_000, Math.floor(baseMs / 5));
}

/** A body larger than this is committed in a transaction of its own (its extra time: 250 ms). */
export const ALONE_BYTES = 1024 * 1024;
/** Bodies sharing one transaction hold at most this much (their shared extra time: at most 2 s). */
export const SHARED_GROUP_BYTES = 8 * 1024 * 1024;

/**
 * Cuts one tick's requests into the transactions they commit in, so that no request waits
 * on time given for others' bytes beyond a bound: bodies up to ALONE_BYTES share groups of
 * at most SHARED_GROUP_BYTES (in arrival order, committed first), each larger body goes
 * alone after them. A tick of small webhooks stays one transaction.
 */
export function deadlineGroups<T>(items: readonly T[], bytesOf: (item: T) => number): T[][] {
  const groups: T[][] = [];
  const alone: T[][] = [];
  let shared: T[] = [];
  let sharedBytes = 0;
  for (const item of items) {
    const bytes = bytesOf(item);
    if (bytes > ALONE_BYTES) {
      alone.push([item]);
      continue;
    }
    if (shared.length > 0 && sharedBytes + bytes > SHARED_GROUP_BYTES) {
      groups.push(shared);
      shared = [];
      sharedBytes = 0;
    }
    shared.push(item);
    sharedBytes += bytes;
  }
  if (shared.length > 0) groups.push(shared);
  return [...groups, ...alone];
}
