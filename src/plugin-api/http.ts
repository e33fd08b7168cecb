/**
 * A Retry-After header (seconds, or an HTTP date) in milliseconds from now; undefined when
 * absent or unreadable, so the relay's own backoff applies.
 */
export function parseRetryAfter(value: string | string[] | null | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  const seconds = Number(text);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
