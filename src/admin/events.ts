import type { FastifyInstance } from 'fastify';
import { payloadOf } from '../ingress/envelope.js';
import { RelayError } from '../errors.js';
import type { EventFilter, EventSummary, SinkOutcome } from '../queue/store.js';
import type { OperatorDeps } from './operator.js';
import { eventDetailReplies } from './event-detail-schema.js';
import { eventFilterQuery, eventListResponse, idParams } from './schemas.js';

export interface EventQuery {
  type?: string;
  job?: string;
  sink?: string;
  outcome?: SinkOutcome;
  since?: string;
  until?: string;
  order?: 'asc' | 'desc';
  cursor?: number;
  limit?: number;
}

function time(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new RelayError('RELAY_ERR_ADMIN_BAD_REQUEST', [`expected ${name} as an ISO 8601 date, got "${value}"`]);
  return at;
}

export function eventFilterOf(q: EventQuery): EventFilter {
  return {
    type: q.type || undefined,
    jobId: q.job || undefined,
    sink: q.sink || undefined,
    outcome: q.outcome,
    since: time(q.since, 'since'),
    until: time(q.until, 'until'),
    oldestFirst: q.order === 'asc',
    cursor: q.cursor,
    limit: q.limit,
  };
}

const summaryJson = (e: EventSummary) => ({
  id: e.id,
  received_at: new Date(e.receivedAt).toISOString(),
  source: e.source,
  type: e.type,
  job_id: e.jobId,
  sinks: e.sinks,
});

/** GET /admin/events (filters, newest first, cursor paging) and GET /admin/events/:id (payload, routing, attempts). */
export function registerEventRoutes(admin: FastifyInstance, deps: OperatorDeps): void {
  admin.get('/admin/events', { schema: { summary: 'Events received, newest first', querystring: eventFilterQuery, response: eventListResponse } }, async (request) => {
    const filter = eventFilterOf(request.query as EventQuery);
    const limit = filter.limit ?? 50;
    const events = await deps.history.list({ ...filter, limit });
    return {
      events: events.map(summaryJson),
      next_cursor: events.length === limit ? events[events.length - 1]!.id : null,
      history: deps.history.enabled,
    };
  });

  admin.get('/admin/events/:id', { schema: { summary: 'One event: payload, routing explanation, attempts per sink', params: idParams, response: eventDetailReplies } }, async (request) => {
    const { id } = request.params as { id: number };
    const event = await deps.history.get(id);
    if (!event) throw new RelayError('RELAY_ERR_ADMIN_EVENT_NOT_FOUND', [id]);
    let payload: unknown = null;
    let routing: unknown = null;
    try {
      const parsed = payloadOf(event.body, event.jobId);
      payload = parsed;
      routing = deps.explain(parsed, event.source);
    } catch {
      // A body stored by an older release that no longer parses: shown as text.
      payload = event.body.toString('utf8');
    }
    return {
      ...summaryJson(event),
      payload,
      routing,
      attempts: event.attempts.map((a) => ({
        sink: a.sink,
        delivery_id: a.deliveryId,
        at: new Date(a.at).toISOString(),
        duration_ms: a.durationMs,
        outcome: a.outcome,
        status_code: a.statusCode,
        error: a.error,
      })),
    };
  });
}
