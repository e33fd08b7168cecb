import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { payloadOf } from '../ingress/envelope.js';
import { RelayError } from '../errors.js';
import type { EventDetail, EventFilter, EventOutcome, EventSummary } from '../queue/store.js';
import type { OperatorDeps } from './operator.js';
import { PREVIEW_BYTES, textPrefix } from './payload-preview.js';
import { eventAttemptsReplies, eventDetailReplies, rawEventReplies } from './event-detail-schema.js';
import { eventFilterQuery, eventListResponse, idParams } from './schemas.js';

export interface EventQuery {
  type?: string;
  url?: string;
  job?: string;
  sink?: string;
  outcome?: EventOutcome;
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
    url: q.url || undefined,
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
  url: e.url,
  sinks: e.sinks,
  // Nothing ever referred to it: stored only because history keeps what no route matched.
  outcome: Object.keys(e.sinks).length === 0 ? ('unrouted' as const) : null,
});

const attemptsJson = (e: EventDetail) =>
  e.attempts.map((a) => ({
    sink: a.sink,
    delivery_id: a.deliveryId,
    at: new Date(a.at).toISOString(),
    duration_ms: a.durationMs,
    outcome: a.outcome,
    status_code: a.statusCode,
    error: a.error,
  }));

/** The raw body goes out in slices of this size, so the socket's pace (backpressure) sets the sending. */
const RAW_SLICE_BYTES = 64 * 1024;

function* slices(body: Buffer): Generator<Buffer> {
  for (let at = 0; at < body.length; at += RAW_SLICE_BYTES) yield body.subarray(at, at + RAW_SLICE_BYTES);
}

/**
 * GET /admin/events (filters, newest first, cursor paging); GET /admin/events/:id (a bounded
 * payload preview, routing, attempts); /:id/attempts (what a live page refreshes) and
 * /:id/raw (the whole stored body, as a download).
 */
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

  const stored = async (id: number): Promise<EventDetail> => {
    const event = await deps.history.get(id);
    if (!event) throw new RelayError('RELAY_ERR_ADMIN_EVENT_NOT_FOUND', [id]);
    return event;
  };

  admin.get('/admin/events/:id', { schema: { summary: 'One event: payload (whole up to 256 KiB, else a preview), routing explanation, attempts per sink', params: idParams, response: eventDetailReplies } }, async (request) => {
    const event = await stored((request.params as { id: number }).id);
    const truncated = event.body.length > PREVIEW_BYTES;
    let payload: unknown = null;
    let routing: unknown = null;
    try {
      const parsed = payloadOf(event.body, event.jobId);
      routing = deps.explain(parsed, event.source);
      if (!truncated) payload = parsed;
    } catch {
      // A body stored by an older release that no longer parses: shown as text.
      if (!truncated) payload = event.body.toString('utf8');
    }
    return {
      ...summaryJson(event),
      size: event.body.length,
      truncated,
      payload,
      preview: truncated ? textPrefix(event.body, PREVIEW_BYTES) : null,
      routing,
      attempts: attemptsJson(event),
    };
  });

  admin.get('/admin/events/:id/attempts', { schema: { summary: 'One event’s outcome per sink and its attempts, without the payload', params: idParams, response: eventAttemptsReplies } }, async (request) => {
    const event = await stored((request.params as { id: number }).id);
    return { id: event.id, sinks: event.sinks, attempts: attemptsJson(event) };
  });

  admin.get('/admin/events/:id/raw', { schema: { summary: 'One event’s stored body, byte for byte, as a download', params: idParams, response: rawEventReplies } }, async (request, reply) => {
    const event = await stored((request.params as { id: number }).id);
    return reply
      .header('content-type', 'application/json')
      .header('content-disposition', `attachment; filename="event-${event.id}.json"`)
      .header('content-length', event.body.length)
      .send(Readable.from(slices(event.body)));
  });
}
