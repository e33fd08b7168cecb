/** A URL without its query string, which can carry a token (`?token=` for v0 senders). */
export function withoutQuery(url: string): string {
  const start = url.indexOf('?');
  return start < 0 ? url : url.slice(0, start);
}

interface LoggedRequest {
  method?: string;
  url?: string;
  ip?: string;
  socket?: { remoteAddress?: string };
}

/**
 * How a request appears in a log line: method, path and peer, never the query string or the
 * headers. The relay logs requests itself without URLs; this keeps a request-logging switch
 * (Fastify's, or a `{ req }` field anywhere) from leaking `?token=`.
 */
export function serializeRequest(req: LoggedRequest): Record<string, unknown> {
  return { method: req.method, url: req.url === undefined ? undefined : withoutQuery(req.url), remoteAddress: req.ip ?? req.socket?.remoteAddress };
}
