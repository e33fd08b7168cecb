import { Enum, Type, type Static } from '../../plugin-api/index.js';
import { MAX_CONCURRENCY_MOVED } from '../moved-options.js';

/** `original`: the bytes as received; `{ metadata }`: the event with these metadata keys merged in. */
const BODY = Type.Unsafe<'original' | { metadata: Record<string, unknown> }>({
  type: ['string', 'object'],
  default: 'original',
  if: { type: 'string' },
  then: { enum: ['original'] },
  else: { additionalProperties: false, required: ['metadata'], properties: { metadata: { type: 'object' } } },
});

/** The webhook sink's options: the schema validated at load, and (Static) their type. */
export const WEBHOOK_OPTIONS_SCHEMA = Type.Object(
  {
    /** Release 0.1's; refused by `check` with where it went (`max_in_flight`). */
    max_concurrency: Type.Optional(MAX_CONCURRENCY_MOVED),
    url: Type.String({ pattern: '^https?://' }),
    headers: Type.Record(Type.String(), Type.String(), { default: {} }),
    timeout_ms: Type.Integer({ minimum: 1, default: 10_000 }),
    body: BODY,
    signature: Type.Object(
      {
        scheme: Enum(['firecrawl', 'standard', 'none']),
        secret: Type.Optional(Type.String({ minLength: 1 })),
        secrets: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
      },
      { additionalProperties: false, default: { scheme: 'none' } },
    ),
    /** 0: a redirect is a failed delivery. */
    follow_redirects: Type.Integer({ minimum: 0, maximum: 10, default: 0 }),
  },
  { additionalProperties: false },
);

export type WebhookSinkOptions = Static<typeof WEBHOOK_OPTIONS_SCHEMA>;
