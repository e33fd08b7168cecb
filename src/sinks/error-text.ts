/** An event's `error` as text: a string as it is, other JSON compact (self-hosted v0 sends `{}`). */
export function errorText(error: unknown): string | undefined {
  if (error === undefined || error === null || error === '') return undefined;
  return typeof error === 'string' ? error : JSON.stringify(error);
}
