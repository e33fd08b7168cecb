import swagger from '@fastify/swagger';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { RelayConfig } from '../config/types.js';
import { RelayError } from '../errors.js';
import { deadLetterView } from '../queue/dead-letter-view.js';
import { assertReplayTarget } from '../queue/replay-target.js';
import type { DeadLetterFilter, DeadLetterStore } from '../queue/store.js';
import { audit, filterForAudit } from './audit.js';
import { bearerAuth } from './auth.js';
import { deadLetterListReplies, deadLetterParams, deadLetterQuery, deadLetterReplies, deadLetterSelection, dropReplies, replayReplies } from './dead-letter-schemas.js';
import { FailedLogins } from './failed-logins.js';
import { registerEventRoutes } from './events.js';
import type { OperatorDeps } from './operator.js';
import { registerSinkRoutes } from './sinks.js';
import { registerStream } from './stream.js';
import { registerToolRoutes } from './tools.js';
import { adminValidator } from './validator.js';

export interface AdminDeps {
  /** '' turns the API off. */
  token: string;
  deadLetters: DeadLetterStore;
  /** Called after a replay put something back (the store also tells its enqueue listeners). */
  onReplay?: () => void;
  /** Events, sinks, the stream and the tools the console uses; without them only dead letters are served. */
  operator?: OperatorDeps;
  now?: () => number;
  /** The sinks configured now (a reload changes them): a replay to a disabled or unknown one is refused. */
  sinks?: () => Pick<RelayConfig, 'sinks' | 'disabledSinks'>;
}

/** Dead letters put back per transaction by a replay. */
const REPLAY_CHUNK = 500;
type Selection = Static<typeof deadLetterSelection>;

function time(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new RelayError('RELAY_ERR_ADMIN_BAD_REQUEST', [`expected ${name} as an ISO 8601 date, got "${value}"`]);
  return at;
}

function filterOf(q: Static<typeof deadLetterQuery> | Selection): DeadLetterFilter {
  return {
    sink: q.sink,
    type: q.type,
    jobId: q.job,
    since: time(q.since, 'since'),
    until: time(q.until, 'until'),
  };
}

/** A replay or drop must say what it applies to: ids, a filter, or all: true (the schema checked the shapes). */
function selectionOf(body: Selection | undefined): DeadLetterFilter {
  const s = body ?? {};
  const filter = filterOf(s);
  if (s.ids !== undefined) filter.ids = s.ids;
  const narrowed = Object.values(filter).some((v) => v !== undefined);
  if (!narrowed && s.all !== true) {
    throw new RelayError('RELAY_ERR_ADMIN_BAD_REQUEST', ['expected ids, a filter (sink, type, job, since, until) or "all": true']);
  }
  return filter;
}

/**
 * The admin API under /admin: dead letters, and with `operator` events, sinks, the SSE
 * stream and tools, described by /admin/openapi.json. Every request needs the bearer
 * token; with no token configured every route answers RELAY_ERR_ADMIN_DISABLED.
 */
export function registerAdmin(app: FastifyInstance, deps: AdminDeps): void {
  app.register(async (admin) => {
    // Rate-limited: a peer guessing tokens costs one warning a minute, with a count.
    const failedLogins = new FailedLogins((peer, count) => admin.log.warn({ audit: 'login_failed', peer, count }, 'admin requests refused: missing or wrong token'));
    admin.addHook('onClose', async () => failedLogins.stop());
    // Before the token check, so refusals carry it too; the stream sets its own.
    admin.addHook('onRequest', async (_request, reply) => void reply.header('cache-control', 'no-store'));
    admin.addHook('onRequest', bearerAuth(deps.token, (request) => failedLogins.record(request.ip)));
    // The ingress keeps JSON as bytes for signatures; admin bodies are parsed (and validated) here.
    admin.removeAllContentTypeParsers();
    admin.addContentTypeParser('application/json', { parseAs: 'string' }, admin.getDefaultJsonParser('error', 'error'));
    admin.setValidatorCompiler(adminValidator);
    admin.setErrorHandler((error, _request, reply) => {
      const relayError = error instanceof RelayError ? error : new RelayError('RELAY_ERR_ADMIN_BAD_REQUEST', [(error as Error).message]);
      return reply.code(relayError.statusCode).send(relayError.toJSON());
    });
    await admin.register(swagger, {
      openapi: {
        // 3.1: schemas are JSON Schema 2020-12, as the routes declare them (`type: [x, "null"]`).
        openapi: '3.1.0',
        info: { title: 'firecrawl-relay admin API', version: '1' },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
        security: [{ bearer: [] }],
      },
    });

    admin.get('/admin/dead-letters', { schema: { summary: 'Dead letters, filtered', querystring: deadLetterQuery, response: deadLetterListReplies } }, async (request) => {
      const q = request.query as Static<typeof deadLetterQuery>;
      const letters = await deps.deadLetters.list({ ...filterOf(q), limit: q.limit });
      return { count: letters.length, dead_letters: letters };
    });

    admin.get('/admin/dead-letters/:id', { schema: { summary: 'One dead letter with its payload', params: deadLetterParams, response: deadLetterReplies } }, async (request) => {
      const { id } = request.params as Static<typeof deadLetterParams>;
      const letter = await deps.deadLetters.get(id);
      if (!letter) throw new RelayError('RELAY_ERR_ADMIN_NOT_FOUND', [id]);
      return deadLetterView(letter);
    });

    admin.post('/admin/dead-letters/replay', { schema: { summary: 'Replay dead letters by ids, filter or all; progress on /admin/stream', body: deadLetterSelection, response: replayReplies } }, async (request) => {
      // In chunks (one transaction each), so a large replay never holds up ingress.
      const selection = selectionOf(request.body as Selection | undefined);
      if (deps.sinks) assertReplayTarget(deps.sinks(), selection.sink);
      const replayed = await deps.deadLetters.replayInChunks(selection, REPLAY_CHUNK, (done, total) =>
        deps.operator?.activity.emit({ kind: 'replay', done, total, at: Date.now() }),
      );
      if (replayed > 0) deps.onReplay?.();
      audit(request, 'dead_letters.replay', { count: replayed, filter: filterForAudit(selection) }, 'dead letters replayed');
      return { replayed };
    });

    admin.post('/admin/dead-letters/drop', { schema: { summary: 'Drop dead letters by ids, filter or all', body: deadLetterSelection, response: dropReplies } }, async (request) => {
      const selection = selectionOf(request.body as Selection | undefined);
      const dropped = await deps.deadLetters.drop(selection);
      audit(request, 'dead_letters.drop', { count: dropped, filter: filterForAudit(selection) }, 'dead letters dropped');
      return { dropped };
    });

    if (deps.operator) {
      registerEventRoutes(admin, deps.operator);
      registerSinkRoutes(admin, deps.operator, deps.now ?? Date.now);
      registerStream(admin, deps.operator.activity);
      registerToolRoutes(admin, deps.operator);
    }
    admin.get('/admin/openapi.json', { schema: { hide: true } }, async () => admin.swagger());
  });
}
