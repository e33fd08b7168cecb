import { Type } from '@sinclair/typebox';
import { Nullable, replies } from './reply-schemas.js';

const when = (what: string) => Type.String({ description: `${what} (ISO 8601)` });

const filter = {
  sink: Type.Optional(Type.String()),
  type: Type.Optional(Type.String({ description: 'event type, e.g. crawl.page' })),
  job: Type.Optional(Type.String({ description: 'Firecrawl job id' })),
  since: Type.Optional(when('failed at or after')),
  until: Type.Optional(when('failed before')),
};

export const deadLetterQuery = Type.Object(
  { ...filter, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })) },
  { additionalProperties: false },
);

/** What a replay or a drop applies to: ids, a filter, or `all: true` (checked in code: one of them). */
export const deadLetterSelection = Type.Object(
  {
    ids: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 10_000 })),
    ...filter,
    all: Type.Optional(Type.Boolean({ description: 'true: every dead letter (a filter or ids narrow it)' })),
  },
  { additionalProperties: false },
);

export const deadLetterParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });

const deadLetter = {
  id: Type.Integer(),
  eventId: Type.Integer(),
  sink: Type.String(),
  jobId: Type.String(),
  type: Type.String(),
  attempts: Type.Integer(),
  createdAt: Type.Integer({ description: 'ms since epoch' }),
  failedAt: Type.Integer({ description: 'ms since epoch' }),
  lastError: Nullable(Type.String()),
};

export const deadLetterListReplies = replies(Type.Object({ count: Type.Integer(), dead_letters: Type.Array(Type.Object(deadLetter)) }));

export const deadLetterReplies = replies(
  Type.Object({
    ...deadLetter,
    body: Type.Unknown({ description: 'the stored body as JSON; as text when it does not parse (see bodyNote)' }),
    bodyNote: Type.Optional(Type.String()),
  }),
);

export const replayReplies = replies(Type.Object({ replayed: Type.Integer() }));
export const dropReplies = replies(Type.Object({ dropped: Type.Integer() }));
