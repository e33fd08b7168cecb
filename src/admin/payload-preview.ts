/**
 * The event page shows at most this much of a stored body: a 25 MB crawl page parsed,
 * pretty-printed and sent whole held up every other request (/healthz too) while it was
 * serialised. The whole body is served as bytes by GET /admin/events/:id/raw.
 */
export const PREVIEW_BYTES = 256 * 1024;

/** The first `limit` bytes of `body` as text, cut before a UTF-8 sequence the cut would split. */
export function textPrefix(body: Buffer, limit: number): string {
  if (body.length <= limit) return body.toString('utf8');
  let end = limit;
  // Continuation bytes are 10xxxxxx: step back to the lead byte, which starts the cut-off character.
  while (end > 0 && (body[end]! & 0xc0) === 0x80) end--;
  return body.subarray(0, end).toString('utf8');
}
