import { Type } from '@sinclair/typebox';
import { Nullable, replies } from './reply-schemas.js';

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

/** GET /admin/events/:id. Open to more fields (`additionalProperties`): the event detail grows with the console. */
export const eventDetailReplies = replies(
  Type.Object(
    {
      id: Type.Integer(),
      received_at: Type.String({ format: 'date-time' }),
      source: Type.String(),
      type: Type.String(),
      job_id: Type.String(),
      sinks: Type.Record(Type.String(), Type.String({ description: 'pending, retrying, delivered or dead_lettered' })),
      payload: Type.Unknown({ description: 'the stored body as JSON; as text when it no longer parses' }),
      routing: Nullable(Type.Array(route, { description: 'every route in force now: matched or not, and each condition with the values the event had' })),
      attempts: Type.Array(attempt),
    },
    { additionalProperties: true },
  ),
);
