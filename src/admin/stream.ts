import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { ActivityFeed } from './activity.js';
import { errorReplies } from './reply-schemas.js';

/** A comment line this often keeps proxies from closing a quiet stream. */
export const KEEPALIVE_MS = 15_000;
/**
 * Past this many bytes written and not yet taken by the client (a tab of a laptop asleep,
 * a client that stopped reading), the stream is ended: notices would otherwise pile up in
 * memory for as long as the connection stays open. The console opens a new one on its next view.
 */
export const MAX_UNSENT_BYTES = 1_048_576;

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

  admin.get('/admin/stream', { schema: { summary: 'Server-sent events: received, settled, backfill and replay progress', response: streamReplies } }, (request, reply) => {
    reply.hijack();
    const res = reply.raw;
    // x-accel-buffering: a proxy (nginx) would otherwise hold notices back until its buffer fills.
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(': connected\n\n');
    open.add(res);
    const send = (text: string): void => {
      if (res.destroyed) return;
      if (res.writableLength <= MAX_UNSENT_BYTES) return void res.write(text);
      request.log.warn({ peer: request.ip, unsent_bytes: res.writableLength }, 'admin stream ended: the client stopped reading');
      res.destroy();
    };
    const unsubscribe = activity.subscribe((notice) => send(`event: ${notice.kind}\ndata: ${JSON.stringify(notice)}\n\n`));
    const keepalive = setInterval(() => send(': keepalive\n\n'), KEEPALIVE_MS);
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
