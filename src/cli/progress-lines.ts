/** How often a long command says where it is: whichever comes first. */
const EVERY_EVENTS = 1000;
const EVERY_MS = 1000;

/**
 * A progress callback `(done, total)` that writes a line ("queued 3000 of ~15000 for
 * archive") every 1,000 events or every second, and once at the end. Lines, not a
 * redrawn bar: they read the same in a terminal, a pipe and a CI log. The total is
 * approximate (`~`): it was counted before the first chunk.
 */
export function progressLines(
  write: (line: string) => void,
  describe: (done: number, total: number) => string,
  clock: () => number = Date.now,
): (done: number, total: number) => void {
  let shownDone = 0;
  let shownAt = clock();
  return (done, total) => {
    const now = clock();
    if (done < total && done - shownDone < EVERY_EVENTS && now - shownAt < EVERY_MS) return;
    shownDone = done;
    shownAt = now;
    write(describe(done, total));
  };
}
