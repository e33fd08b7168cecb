import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { RelayConfig } from './config/types.js';
import { RelayError } from './errors.js';
import type { ActivityFeed } from './admin/activity.js';
import type { OperatorDeps } from './admin/operator.js';
import { registerAdmin } from './admin/routes.js';
import { registerConsole } from './console/plugin.js';
import { limitConnections } from './connection-limits.js';
import { closeConnectionsWhileDraining } from './drain-connections.js';
import { ingressState, registerIngress, rejectWebhook, type IngressState } from './ingress/routes.js';
import { lazyRequestLogger } from './lazy-request-logger.js';
import { notFoundError } from './not-found.js';
import { withoutQuery } from './request-log.js';
import { throttled } from './throttled-log.js';
import type { PayloadCache } from './delivery/payload-cache.js';
import type { RelayMetrics } from './metrics.js';
import type { QueueStore } from './queue/store.js';

export interface SinkReadiness {
  ready: boolean;
  error: string | null;
  /** What a sink's state was read from: its `healthcheck()`, else its last write. */
  from?: 'healthcheck' | 'last_write' | 'not_started';
}

export interface Readiness {
  queue: SinkReadiness;
  sinks: Record<string, SinkReadiness>;
}

export interface AppDeps {
  config: RelayConfig;
  queue: QueueStore;
  metrics: RelayMetrics;
  logger: Logger;
  /** The queue's and each sink's state, for /readyz. */
  readiness?: () => Readiness;
  /** True once shutdown began: webhooks get 503 (hosted Firecrawl retries them; self-hosted never retries). */
  draining?: () => boolean;
  /** The config now (a reload replaces it); the one given by default. */
  current?: () => RelayConfig;
  /** Called after an admin replay put dead letters back in the queue. */
  onReplay?: () => void;
  /** Routing and credentials now (a reload replaces them); the config's own by default. */
  state?: () => IngressState;
  /** The console's view of the running relay (events, sinks, tools); dead letters only without it. */
  operator?: OperatorDeps;
  activity?: ActivityFeed;
  /** Where accepted payloads are left for the sinks, parsed once. */
  payloads?: PayloadCache;
  /** Bytes of dead letters parked at enqueue (sinks over max_pending_bytes). */
  onParked?: (bytes: number) => void;
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/** Fastify's own errors that a sender can cause, mapped to ours. */
function toRelayError(error: FastifyError, config: RelayConfig, contentType: string | undefined): RelayError {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new RelayError('RELAY_ERR_INGRESS_BODY_TOO_LARGE', [config.server.body_limit_bytes]);
    case 'FST_ERR_BAD_URL': // Fastify's own answer would echo the URL, query string and all
      return new RelayError('RELAY_ERR_INGRESS_BAD_REQUEST', ['the path is not valid percent-encoding']);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_TYPE':
      return new RelayError('RELAY_ERR_INGRESS_MEDIA_TYPE', [contentType ? JSON.stringify(contentType.slice(0, 100)) : 'none']);
    default:
      if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
        return new RelayError('RELAY_ERR_INGRESS_BAD_REQUEST', [error.code ?? 'malformed request']);
      }
      return new RelayError('RELAY_ERR_INTERNAL', [], { cause: error });
  }
}

/** The relay's HTTP side, built without listening (tests drive it with `inject`). */
export function buildApp(deps: AppDeps): FastifyInstance {
  const { config, logger } = deps;
  const { headers_timeout_ms, body_timeout_ms } = config.server;
  // Node wants headersTimeout <= requestTimeout.
  const headersTimeout = Math.min(headers_timeout_ms, body_timeout_ms);
  const app = Fastify({
    // A sender that stalls before or inside its body is cut off (408), so a few idle
    // connections cannot hold the in-flight budget. Node's requestTimeout covers the whole
    // request, body included; its checks run every connectionsCheckingInterval.
    // Given twice on purpose: Fastify sets server.requestTimeout from its own option after
    // creating the server (0 when absent), and Node refuses at creation a headersTimeout above
    // the requestTimeout it is given (300 s when absent). test/reliability/slow-senders.test.ts.
    requestTimeout: body_timeout_ms,
    http: {
      requestTimeout: body_timeout_ms,
      headersTimeout,
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headersTimeout / 4))),
    },
    loggerInstance: logger as FastifyBaseLogger,
    // Requests are logged by the ingress itself, without headers that carry credentials.
    logController: new LogController({ disableRequestLogging: true }),
    // request.log keeps its reqId, but its pino child is made only when a line is written.
    childLoggerFactory: lazyRequestLogger,
    bodyLimit: config.server.body_limit_bytes,
    // Firecrawl may keep connections open between deliveries.
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
    // Errors raised before routing (a path that cannot be decoded): answered like any other.
    frameworkErrors: (error, request, reply) => rejectWebhook(deps, request, reply, toRelayError(error, config, undefined)),
    // Requests Node's HTTP parser refuses (headers too large, malformed) get our codes too.
    clientErrorHandler: (error, socket) => {
      if (!socket.writable) return;
      const code = (error as NodeJS.ErrnoException).code;
      const relayError =
        code === 'HPE_HEADER_OVERFLOW'
          ? new RelayError('RELAY_ERR_INGRESS_HEADERS_TOO_LARGE')
          : code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? new RelayError('RELAY_ERR_INGRESS_TIMEOUT', [headersTimeout, body_timeout_ms])
            : new RelayError('RELAY_ERR_INGRESS_BAD_REQUEST', [code ?? 'malformed request']);
      const body = JSON.stringify(relayError.toJSON());
      const reason = REASONS[relayError.statusCode] ?? 'Bad Request';
      // Closed once the answer is flushed: end() alone leaves the socket half-open for as
      // long as the client keeps its side open.
      socket.end(`HTTP/1.1 ${relayError.statusCode} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`, () =>
        socket.destroy(),
      );
      throttled(logger).write('info', relayError.code, {}, 'webhook rejected');
    },
  });

  // Sockets cannot pile up without bound, nor one address take them all.
  const { max_connections, max_connections_per_address } = config.server;
  limitConnections(app.server, { max: max_connections, perAddress: max_connections_per_address }, (reason) =>
    throttled(logger).write('info', `connection_${reason}`, { reason }, 'connection closed by the connection limits'),
  );

  // A callback hook, not an async one: no promise per request. A refusal is answered and goes no further.
  app.addHook('onRequest', (request, reply, next) => {
    if (request.method === 'POST' && !request.url.startsWith('/admin/') && !request.url.startsWith('/console') && deps.draining?.()) {
      rejectWebhook(deps, request, reply, new RelayError('RELAY_ERR_SHUTTING_DOWN'));
      return;
    }
    next();
  });

  closeConnectionsWhileDraining(app, () => deps.draining?.() ?? false);

  const initial = ingressState(config);
  registerIngress(app, { ...deps, state: deps.state ?? (() => initial) });
  registerAdmin(app, {
    token: config.admin.token,
    deadLetters: deps.queue.deadLetters,
    onReplay: () => deps.onReplay?.(),
    operator: deps.operator,
    sinks: deps.current ?? (() => config),
  });
  // The console is a page over the admin API: served only when the API is on.
  if (config.admin.token) registerConsole(app);

  app.get('/healthz', async () => ({ ok: true }));
  // Ready means "can accept and persist webhooks": a sink that is down does not take the
  // ingress out of a load balancer's rotation (its deliveries wait in the queue); the body
  // still says which sinks are down and why.
  app.get('/readyz', async (_request, reply) => {
    const { queue, sinks } = deps.readiness?.() ?? { queue: deps.queue.writable(), sinks: {} };
    const ready = queue.ready && !deps.draining?.();
    return reply.code(ready ? 200 : 503).send({ ready, queue, sinks });
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );

  app.setNotFoundHandler((request, reply) => {
    const error = notFoundError(request.method, withoutQuery(request.url), config.admin.token !== '');
    if (error.code !== 'RELAY_ERR_INGRESS_NOT_FOUND') reply.header('cache-control', 'no-store');
    return reply.code(error.statusCode).send(error.toJSON());
  });
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const relayError = error instanceof RelayError ? error : toRelayError(error, config, request.headers['content-type']);
    if (relayError.code === 'RELAY_ERR_INTERNAL') logger.error({ err: error }, 'request failed');
    return rejectWebhook(deps, request, reply, relayError);
  });
  return app;
}
