import type { FastifyInstance } from 'fastify';

/**
 * While the relay drains, every answer closes its connection (`Connection: close`): a
 * webhook in flight at SIGTERM would otherwise leave a keep-alive connection open and idle
 * after its answer, and the HTTP server's close would wait for the client to hang up
 * (keepAliveTimeout, 65 s), past the shutdown deadline. Connections already idle when the
 * drain starts are closed by the server's close itself (Node closes idle ones on close).
 */
export function closeConnectionsWhileDraining(app: FastifyInstance, draining: () => boolean): void {
  app.addHook('onSend', async (_request, reply) => {
    if (draining()) reply.header('connection', 'close');
  });
  // And should a client keep one open regardless: closed as soon as it is idle.
  app.addHook('onResponse', async () => {
    if (draining()) setImmediate(() => app.server.closeIdleConnections());
  });
}
