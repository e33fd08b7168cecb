/** Edits (insert, delete, substitute) between two short strings. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The candidate a mistyped `name` most likely meant: within two edits (`archvie` →
 * `archive`), or one the name begins (`timeout` → `timeout_ms`); undefined when none is close.
 */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; edits: number } | undefined;
  for (const candidate of candidates) {
    if (candidate === name) continue;
    const edits = candidate.startsWith(name) && name.length >= 3 ? 1 : distance(name.toLowerCase(), candidate.toLowerCase());
    if (edits <= 2 && edits < Math.min(name.length, candidate.length) && (!best || edits < best.edits)) best = { candidate, edits };
  }
  return best?.candidate;
}

/** `: did you mean "x"?` to append to a message, or '' when no candidate is close. */
export function didYouMean(name: string, candidates: readonly string[]): string {
  const guess = closest(name, candidates);
  return guess === undefined ? '' : `: did you mean "${guess}"?`;
}
