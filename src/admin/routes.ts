import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RelayError } from '../errors.js';
import { deadLetterView } from '../queue/dead-letter-view.js';
import type { DeadLetterFilter, DeadLetterStore } from '../queue/store.js';

export interface AdminDeps {
  /** '' turns the API off. */
  token: string;
  deadLetters: DeadLetterStore;
  /** Called after a replay put something back (the store also tells its enqueue listeners). */
  onReplay?: () => void;
}

type Query = Record<string, string | undefined>;
type Selection = { ids?: number[]; sink?: string; type?: string; job?: string; since?: string; until?: string; all?: boolean };

function time(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new RelayError('RELAY_ERR_ADMIN_BAD_REQUEST', [`expected ${name} as an ISO 8601 date, got "${value}"`]);
  return at;
}

function filterOf(q: Query | Selection): DeadLetterFilter {
  return {
    sink: q.sink,
    type: q.type,
    jobId: q.job,
    since: time(q.since, 'since'),
    until: time(q.until, 'until'),
  };
}

/** A replay or drop must say what it applies to: ids, a filter, or all: true. */
function selectionOf(raw: unknown): DeadLetterFilter {
  // The relay keeps JSON bodies as bytes (webhook signatures are over them): parse here.
  let body: unknown = raw;
  if (Buffer.isBuffer(raw)) {
    try {
      body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
    } catch {
      throw new RelayError('RELAY_ERR_ADMIN_BAD_REQUEST', ['expected a JSON body']);
    }
  }
  const s = (typeof body === 'object' && body !== null ? body : {}) as Selection;
  const filter = filterOf(s);
  if (s.ids !== undefined) {
    if (!Array.isArray(s.ids) || !s.ids.every((id) => Number.isInteger(id))) {
      throw new RelayError('RELAY_ERR_ADMIN_BAD_REQUEST', ['expected "ids" as a list of integers']);
    }
    filter.ids = s.ids;
  }
  const narrowed = Object.values(filter).some((v) => v !== undefined);
  if (!narrowed && s.all !== true) {
    throw new RelayError('RELAY_ERR_ADMIN_BAD_REQUEST', ['expected ids, a filter (sink, type, job, since, until) or "all": true']);
  }
  return filter;
}

/**
 * /admin/dead-letters: list, show, replay, drop. Every request needs the bearer token;
 * with no token configured every route answers RELAY_ERR_ADMIN_DISABLED.
 */
export function registerAdmin(app: FastifyInstance, deps: AdminDeps): void {
  const token = Buffer.from(deps.token);

  const authorize = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const fail = (error: RelayError) => reply.code(error.statusCode).send(error.toJSON());
    if (token.length === 0) return void fail(new RelayError('RELAY_ERR_ADMIN_DISABLED'));
    const header = request.headers.authorization;
    if (!header?.startsWith('Bearer ')) return void fail(new RelayError('RELAY_ERR_ADMIN_TOKEN_MISSING'));
    const given = Buffer.from(header.slice('Bearer '.length));
    if (given.length !== token.length || !timingSafeEqual(given, token)) return void fail(new RelayError('RELAY_ERR_ADMIN_TOKEN_INVALID'));
  };

  app.register(async (admin) => {
    admin.addHook('onRequest', authorize);
    admin.setErrorHandler((error, _request, reply) => {
      const relayError = error instanceof RelayError ? error : new RelayError('RELAY_ERR_ADMIN_BAD_REQUEST', [(error as Error).message]);
      return reply.code(relayError.statusCode).send(relayError.toJSON());
    });

    admin.get('/admin/dead-letters', async (request) => {
      const q = request.query as Query;
      const limit = q.limit === undefined ? 100 : Number(q.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new RelayError('RELAY_ERR_ADMIN_BAD_REQUEST', [`expected limit as a positive integer, got "${q.limit}"`]);
      const letters = await deps.deadLetters.list({ ...filterOf(q), limit });
      return { count: letters.length, dead_letters: letters };
    });

    admin.get('/admin/dead-letters/:id', async (request) => {
      const { id } = request.params as { id: string };
      const letter = /^\d+$/.test(id) ? await deps.deadLetters.get(Number(id)) : undefined;
      if (!letter) throw new RelayError('RELAY_ERR_ADMIN_NOT_FOUND', [id]);
      return deadLetterView(letter);
    });

    admin.post('/admin/dead-letters/replay', async (request) => {
      const replayed = await deps.deadLetters.replay(selectionOf(request.body));
      if (replayed > 0) deps.onReplay?.();
      return { replayed };
    });

    admin.post('/admin/dead-letters/drop', async (request) => ({ dropped: await deps.deadLetters.drop(selectionOf(request.body)) }));
  });
}
