import type { JsonSchema } from '../../plugin-api/index.js';
import { MAX_CONCURRENCY_MOVED } from '../moved-options.js';
import type { SignatureScheme } from './signing.js';

export interface WebhookSinkOptions {
  url: string;
  headers: Record<string, string>;
  timeout_ms: number;
  /** `original`: the bytes as received; `{ metadata }`: the event with these metadata keys merged in. */
  body: 'original' | { metadata: Record<string, unknown> };
  signature: { scheme: SignatureScheme; secret?: string; secrets?: string[] };
  /** 0: a redirect is a failed delivery. */
  follow_redirects: number;
  /** Release 0.1's; refused by `check` with where it went (`max_in_flight`). */
  max_concurrency?: number;
}

export const WEBHOOK_OPTIONS_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  properties: {
    max_concurrency: MAX_CONCURRENCY_MOVED,
    url: { type: 'string', pattern: '^https?://' },
    headers: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
    timeout_ms: { type: 'integer', minimum: 1, default: 10_000 },
    body: {
      type: ['string', 'object'],
      default: 'original',
      if: { type: 'string' },
      then: { enum: ['original'] },
      else: { additionalProperties: false, required: ['metadata'], properties: { metadata: { type: 'object' } } },
    },
    signature: {
      type: 'object',
      additionalProperties: false,
      default: { scheme: 'none' },
      required: ['scheme'],
      properties: {
        scheme: { enum: ['firecrawl', 'standard', 'none'] },
        secret: { type: 'string', minLength: 1 },
        secrets: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
      },
    },
    follow_redirects: { type: 'integer', minimum: 0, maximum: 10, default: 0 },
  },
};
