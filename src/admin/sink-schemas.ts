import { Type } from '@sinclair/typebox';
import { Nullable, replies } from './reply-schemas.js';

const sink = Type.Object({
  name: Type.String(),
  type: Type.String(),
  state: Type.Union([Type.Literal('delivering'), Type.Literal('paused'), Type.Literal('failing'), Type.Literal('disconnected')]),
  error: Nullable(Type.String()),
  pending: Type.Integer(),
  pending_bytes: Type.Integer(),
  oldest_pending_age_ms: Nullable(Type.Integer()),
  dead_letters: Type.Integer(),
});

export const sinksReplies = replies(Type.Object({ sinks: Type.Array(sink) }));

export const overviewReplies = replies(
  Type.Object({
    sinks: Type.Array(sink),
    activity: Type.Array(
      Type.Object({ sink: Type.String(), minute: Type.String({ format: 'date-time' }), delivered: Type.Integer(), failed: Type.Integer() }),
      { description: 'attempts per sink and minute over the last hour' },
    ),
    queue: Type.Object({ used_bytes: Type.Integer(), max_bytes: Type.Integer() }),
    received_by_type: Type.Record(Type.String(), Type.Integer(), { description: 'history on: events stored within history.retention_seconds, per type, read from the store (every replica alike); history off: webhooks this relay accepted since it started' }),
    history: Type.Boolean({ description: 'false: delivered events are not kept' }),
  }),
);

export const pauseReplies = replies(Type.Object({ sink: Type.String(), paused: Type.Boolean() }));
