import { Type } from '@sinclair/typebox';
import { Nullable, replies } from './reply-schemas.js';

export const testEventReplies = replies(
  Type.Object({
    event_id: Nullable(Type.Integer({ description: 'null: no route took it' })),
    job_id: Type.String({ description: 'fresh for each test event' }),
    sinks: Type.Array(Type.String()),
  }),
);

export const backfillReplies = replies(Type.Object({ sink: Type.String(), queued: Type.Integer() }));
