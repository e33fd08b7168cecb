import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { RelayConfig, SourceConfig } from '../config/types.js';
import { RelayError, describeError } from '../errors.js';
import type { ActivityFeed } from '../admin/activity.js';
import type { RelayMetrics } from '../metrics.js';
import type { PayloadCache } from '../delivery/payload-cache.js';
import type { QueueStore } from '../queue/store.js';
import { isKnownEventType } from '../routing/event-types.js';
import { dedupeKey } from './dedupe.js';
import { parseEnvelope } from './envelope.js';
import { InflightBodies } from './inflight.js';
import { meteredBodyParser } from './metered-body.js';
import type { Router } from '../routing/router.js';
import { UnsignedWarning } from './unsigned-warning.js';
import { throttled } from '../throttled-log.js';
import { createVerifier, credentialsShapeError, type Verifier } from './verify.js';

/** What a request is checked and routed against; replaced whole on a config reload. */
export interface IngressState {
  router: Router;
  sources: ReadonlyMap<string, { source: SourceConfig; verify: Verifier }>;
}

export function ingressState(config: RelayConfig): IngressState {
  return {
    router: config.router,
    sources: new Map(config.sources.map((source) => [source.name, { source, verify: createVerifier(source) }])),
  };
}

export interface IngressDeps {
  config: RelayConfig;
  queue: QueueStore;
  metrics: RelayMetrics;
  logger: Logger;
  /** The current state; the config above only fixes the paths listened on. */
  state: () => IngressState;
  /** Told of each event stored, for the console's live view. */
  activity?: ActivityFeed;
  /** Where accepted payloads are left for the sinks, parsed once. */
  payloads?: PayloadCache;
  /** Bytes of dead letters parked at enqueue (sinks over max_pending_bytes). */
  onParked?: (bytes: number) => void;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    source?: string;
  }
}

/** Reports a refused webhook: counted by code, logged without body or credentials. */
export function rejectWebhook(
  deps: Pick<IngressDeps, 'metrics' | 'logger'>,
  request: FastifyRequest,
  reply: FastifyReply,
  error: RelayError,
): FastifyReply {
  const source = request.routeOptions.config.source ?? 'none';
  // A 503 is "not now": say when to come back (senders that retry honour it).
  if (error.statusCode === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', InflightBodies.refused(error) ? '1' : '5');
  deps.metrics.eventsRejected.inc({ source, code: error.code });
  const level = error.statusCode >= 500 ? 'warn' : 'info';
  // The queue's own failure (a server's message) is for the operator, not in the answer.
  const cause = error.statusCode === 503 && error.cause !== undefined ? { cause: describeError(error.cause) } : {};
  // Throttled per code: a sender can cause these at will.
  throttled(deps.logger).write(level, error.code, { source, ip: request.ip, bytes: request.headers['content-length'], ...cause }, 'webhook rejected');
  return reply.code(error.statusCode).send(error.toJSON());
}

function registerSource(app: FastifyInstance, deps: IngressDeps, inflight: InflightBodies, name: string, path: string): void {
  const log = deps.logger.child({ source: name });
  // Kept across reloads: the warning stays rate-limited when the config changes.
  const unsignedWarning = new UnsignedWarning(name);
  const refuseCredentials = (request: FastifyRequest, reply: FastifyReply, denied: RelayError): FastifyReply => {
    if (denied.code === 'RELAY_ERR_INGRESS_SIGNATURE_MISSING') {
      deps.metrics.webhooksUnsigned.inc({ source: name });
      unsignedWarning.note(log);
    }
    return rejectWebhook(deps, request, reply, denied);
  };

  // Before the body is read: a request without credentials of the right shape costs no
  // memory; the others are charged their body's bytes as they arrive. A callback hook, not
  // an async one: no promise per request. A refused request is answered and goes no further.
  const admitBody = (request: FastifyRequest, reply: FastifyReply, next: () => void): void => {
    const current = deps.state().sources.get(name);
    const badCredentials = current ? credentialsShapeError(current.source.auth, request.headers, request.url) : null;
    if (badCredentials) {
      refuseCredentials(request, reply, badCredentials);
      return;
    }
    inflight.admit(request, reply);
    next();
  };

  app.post(path, { config: { source: name }, onRequest: admitBody }, async (request, reply) => {
    const { router, sources } = deps.state();
    const current = sources.get(name);
    // A source removed by a reload: its path stays bound until restart, but answers 404.
    if (!current) return rejectWebhook(deps, request, reply, new RelayError('RELAY_ERR_INGRESS_NOT_FOUND', ['POST', path]));
    const { source, verify } = current;
    const received = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    // The signature covers the bytes as received; what is stored is the parsed envelope's body.
    const denied = verify(request.headers, received, request.url);
    if (denied) return refuseCredentials(request, reply, denied);

    let envelope;
    try {
      envelope = parseEnvelope(received);
    } catch (err) {
      if (err instanceof RelayError) return rejectWebhook(deps, request, reply, err);
      throw err;
    }
    const { payload, type, jobId, body, url } = envelope;
    const { sinks, routes } = router.match(payload, source.name);

    let result;
    try {
      result = await deps.queue.enqueue({
        source: source.name,
        type,
        jobId,
        dedupeKey: dedupeKey(source, payload, body),
        body,
        sinks,
        url,
      });
    } catch (err) {
      if (err instanceof RelayError) return rejectWebhook(deps, request, reply, err);
      throw err;
    }

    // An unrouted event (kept for history) is never delivered: no copy to keep for sinks.
    if (result.eventId !== null && sinks.length > 0) deps.payloads?.set(result.eventId, payload, body.length);
    if (result.parked.length > 0) deps.onParked?.(body.length * result.parked.length);
    for (const sink of result.parked) {
      // The sink's max_pending_bytes was reached: stored, but parked at once (replayable).
      deps.metrics.deadLettersParked.inc({ sink, reason: 'sink_full' });
      log.debug({ sink, type, job: jobId }, 'sink over max_pending_bytes: delivery parked as a dead letter');
    }
    if (result.eventId !== null) deps.activity?.emit({ kind: 'received', id: result.eventId, type, jobId, source: source.name, at: Date.now() });
    const known = isKnownEventType(type);
    if (result.duplicate) {
      deps.metrics.eventsDuplicate.inc({ source: source.name });
      log.info({ type, job: jobId }, 'duplicate webhook acknowledged');
    } else {
      deps.metrics.eventsReceived.inc({ source: source.name, type: known ? type : 'other' });
      if (!known) {
        deps.metrics.eventsUnknownType.inc({ source: source.name });
        log.info({ type, job: jobId }, 'webhook of an undocumented type accepted');
      }
      if (routes.length === 0) {
        deps.metrics.eventsUnrouted.inc({ source: source.name });
        log.debug({ type, job: jobId }, 'webhook matched no route');
      }
    }
    return reply.code(200).send({
      ok: true,
      event_id: result.eventId === null ? null : String(result.eventId),
      duplicate: result.duplicate,
      deliveries: result.duplicate ? 0 : sinks.length,
    });
  });
}

export function registerIngress(app: FastifyInstance, deps: IngressDeps): void {
  const { max_inflight_bytes, max_inflight_bytes_per_peer, body_limit_bytes } = deps.config.server;
  const inflight = new InflightBodies(
    { maxBytes: max_inflight_bytes, maxBytesPerPeer: max_inflight_bytes_per_peer },
    deps.metrics.ingressInflightBytes,
  );
  app.removeAllContentTypeParsers();
  // Keep the raw bytes: the signature is over them, and sinks may forward them unchanged.
  // A webhook's bytes are charged to `inflight` as they arrive (its source's onRequest hook admitted it).
  // Fastify tests a RegExp against the type *with* its parameters: match the media type only.
  for (const type of ['application/json', /^application\/[a-z0-9.+-]+\+json(?:\s*;|$)/i]) {
    app.addContentTypeParser(type, meteredBodyParser(inflight, body_limit_bytes));
  }
  for (const source of deps.config.sources) registerSource(app, deps, inflight, source.name, source.path);
}
