/** A timer this late was held by a blocked event loop (synchronous work), not by its own wait. */
export const LATE_AFTER_MS = 200;

/**
 * setTimeout that gives back the time the event loop spent blocked: a timer that fires more
 * than LATE_AFTER_MS late waits again for as long as it was late (at most `ms`), so that
 * the I/O that finished meanwhile is seen first. A write is then timed by the time it had,
 * not blamed for another sink's busy loop. Returns the function that cancels it.
 */
export function loopTimeout(fire: () => void, ms: number, now: () => number = Date.now): () => void {
  let timer: NodeJS.Timeout;
  const arm = (wait: number): void => {
    const due = now() + wait;
    timer = setTimeout(() => {
      const late = now() - due;
      if (late > LATE_AFTER_MS) arm(Math.min(late, ms));
      else fire();
    }, wait);
  };
  arm(ms);
  return () => clearTimeout(timer);
}
