/**
 * An event's `error` as text: a string as it is, other JSON compact (a failed v0 page of
 * self-hosted Firecrawl sends `{}`). Undefined when there is none, for a `??` fallback.
 */
export function errorText(error: unknown): string | undefined {
  if (error === undefined || error === null || error === '') return undefined;
  return typeof error === 'string' ? error : JSON.stringify(error);
}
