import { Type } from '@sinclair/typebox';
import { errorReplies, Nullable, replies } from './reply-schemas.js';

const check = Type.Object({ condition: Type.String(), passed: Type.Boolean(), got: Type.Array(Type.Unknown()) });
const route = Type.Object({ route: Type.String(), to: Type.Array(Type.String()), matched: Type.Boolean(), checks: Type.Array(check) });

const attempt = Type.Object({
  sink: Type.String(),
  delivery_id: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  duration_ms: Type.Integer(),
  outcome: Type.Union([Type.Literal('delivered'), Type.Literal('failed'), Type.Literal('dead_lettered')]),
  status_code: Nullable(Type.Integer()),
  error: Nullable(Type.String()),
});

const sinks = Type.Record(Type.String(), Type.String({ description: 'pending, retrying, delivered, dead_lettered or dropped' }));

/** GET /admin/events/:id. Open to more fields (`additionalProperties`): the event detail grows with the console. */
export const eventDetailReplies = replies(
  Type.Object(
    {
      id: Type.Integer(),
      received_at: Type.String({ format: 'date-time' }),
      source: Type.String(),
      type: Type.String(),
      job_id: Type.String(),
      url: Nullable(Type.String({ description: 'page events: the first page’s metadata.url (else sourceURL), at most 2048 characters' })),
      sinks,
      outcome: Nullable(Type.Literal('unrouted', { description: 'no route matched it (no sinks): routing says why' })),
      size: Type.Integer({ description: 'bytes of the stored body' }),
      truncated: Type.Boolean({ description: 'true: the body is over 256 KiB; payload is null, preview holds its start, /raw serves it whole' }),
      payload: Type.Unknown({ description: 'the stored body as JSON; as text when it no longer parses; null when truncated' }),
      preview: Nullable(Type.String({ description: 'when truncated: the first 256 KiB of the body, as text' })),
      routing: Nullable(Type.Array(route, { description: 'every route in force now: matched or not, and each condition with the values the event had' })),
      attempts: Type.Array(attempt),
    },
    { additionalProperties: true },
  ),
);

/** GET /admin/events/:id/attempts: what a live update of the event page needs, without the payload. */
export const eventAttemptsReplies = replies(Type.Object({ id: Type.Integer(), sinks, attempts: Type.Array(attempt, { description: 'oldest first' }) }));

/** GET /admin/events/:id/raw: the stored body byte for byte, as a download. */
export const rawEventReplies = {
  200: {
    description: 'the stored body as received (content-disposition: attachment)',
    content: { 'application/json': { schema: { type: 'string', format: 'binary' } } },
  },
  ...errorReplies,
} as const;
