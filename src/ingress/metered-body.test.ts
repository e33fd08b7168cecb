import Fastify from 'fastify';
import { afterEach, expect, it } from 'vitest';
import { InflightBodies } from './inflight.js';
import { UNADMITTED_BODY_LIMIT, meteredBodyParser } from './metered-body.js';

const apps: Array<ReturnType<typeof Fastify>> = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

/** A webhook route whose requests a source admits, and one no source admits (as the admin API's). */
function app(): ReturnType<typeof Fastify> {
  const server = Fastify({ bodyLimit: 8 * 1024 * 1024 });
  apps.push(server);
  const inflight = new InflightBodies({ maxBytes: 64 * 1024 * 1024, maxBytesPerPeer: 64 * 1024 * 1024 }, { set() {} });
  server.removeAllContentTypeParsers();
  server.addContentTypeParser('application/json', meteredBodyParser(inflight, 8 * 1024 * 1024));
  const received = async (request: { body: unknown }) => ({ bytes: (request.body as Buffer).length });
  server.post('/hook', { onRequest: (request, reply, done) => (inflight.admit(request, reply), done()) }, received);
  server.post('/admin', received);
  return server;
}

// Review of issue 12: a body sent to a path no source serves (a 404, the admin API) was read
// whole, up to body_limit_bytes, outside max_inflight_bytes and without credentials.
it('reads a webhook body up to body_limit_bytes, and any other body up to 1 MiB', async () => {
  const server = app();
  const body = `"${'x'.repeat(UNADMITTED_BODY_LIMIT + 10)}"`;
  const post = (url: string) => server.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: body });
  expect((await post('/hook')).json()).toEqual({ bytes: body.length });
  expect((await post('/admin')).statusCode).toBe(413);
  expect((await post('/nowhere')).statusCode).toBe(413);
  const small = await server.inject({ method: 'POST', url: '/admin', headers: { 'content-type': 'application/json' }, payload: '{"ids":[1,2,3]}' });
  expect(small.json()).toEqual({ bytes: 15 });
});
