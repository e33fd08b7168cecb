import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { ActivityFeed } from './activity.js';
import { errorReplies } from './reply-schemas.js';

/** A comment line this often keeps proxies from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;

/** For the OpenAPI document: the stream is written by hand, never serialised. */
const streamReplies = {
  200: {
    description: 'one `event: <kind>` and `data: <JSON>` per notice (received, settled, backfill, replay); comment lines keep it alive',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  },
  ...errorReplies,
};

/**
 * GET /admin/stream: server-sent events, one `data:` line per notice (ids and names, never
 * payloads). The console reads it with fetch, so the token stays in a header. Open streams
 * are ended when the relay closes: a stream never ends by itself, and the server's close
 * waits for every connection in use.
 */
export function registerStream(admin: FastifyInstance, activity: ActivityFeed): void {
  const open = new Set<ServerResponse>();
  admin.addHook('preClose', async () => {
    for (const res of open) res.end();
  });

  admin.get('/admin/stream', { schema: { summary: 'Server-sent events: received, settled, backfill progress', response: streamReplies } }, (request, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(': connected\n\n');
    open.add(res);
    const unsubscribe = activity.subscribe((notice) => res.write(`event: ${notice.kind}\ndata: ${JSON.stringify(notice)}\n\n`));
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    keepalive.unref();
    const end = (): void => {
      clearInterval(keepalive);
      unsubscribe();
      open.delete(res);
    };
    request.raw.on('close', end);
    res.on('close', end);
  });
}
