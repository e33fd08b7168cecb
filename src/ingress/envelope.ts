import { Ajv } from 'ajv';
import { RelayError } from '../errors.js';
import { assertSafeJson } from './json-depth.js';
import { assertNoNulInIds } from './nul-free.js';
import type { FirecrawlPayload } from '../plugin-api/types.js';
import { pageUrlOf } from './page-url.js';

const ENVELOPE_SCHEMA = {
  type: 'object',
  required: ['success', 'type', 'data'],
  properties: {
    success: { type: 'boolean' },
    type: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_.-]+$' },
    id: { type: 'string', minLength: 1, maxLength: 500 },
    // Legacy v0 senders name the job id `jobId`.
    jobId: { type: 'string', minLength: 1, maxLength: 500 },
    data: { type: ['array', 'object'] },
    metadata: { type: ['object', 'null'] },
    // Any JSON, as senders write it: a failed v0 page of self-hosted Firecrawl sends `"error": {}`.
    error: {},
    // A string over 500 characters is refused; any other JSON is taken as no webhookId.
    webhookId: { maxLength: 500 },
  },
  anyOf: [{ required: ['id'] }, { required: ['jobId'] }],
} as const;

const validate = new Ajv({ allErrors: false, strict: false }).compile(ENVELOPE_SCHEMA);
// ignoreBOM keeps a BOM in the text: one is stripped (withoutBom), a second one is then
// refused as not JSON rather than silently dropped here and stored in the body.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
// A lone UTF-16 surrogate (valid JSON as "\ud800") cannot round-trip through a UTF-8 column.
const LONE_SURROGATE = /\p{Surrogate}/u;
// The strings the queue stores as columns (job, type) or keys (webhookId for dedupe).
const STORED_STRINGS = ['id', 'jobId', 'type', 'webhookId'] as const;

export interface Envelope {
  payload: FirecrawlPayload;
  type: string;
  jobId: string;
  /** The bytes to store and hand to sinks: as received, less a leading UTF-8 BOM. */
  body: Buffer;
  /** A page event's URL, for the console's lists (`pageUrlOf`). */
  url: string | null;
}

/** The body less a leading UTF-8 BOM (JSON.parse refuses one; the stored body must parse). */
export function withoutBom(body: Buffer): Buffer {
  // Compared byte by byte: no view of the first three bytes to compare per event.
  return body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? body.subarray(3) : body;
}

/**
 * The one normal form of a payload every sink sees: `id` filled from a legacy `jobId`,
 * `metadata` an object. Used at ingress and again when a stored body becomes an event, each
 * time on a value just parsed and not yet shared: filled in place (keys keep their order, a
 * key added comes last, as a copy would have them), without a copy per event.
 */
function normalizePayload(value: FirecrawlPayload & { jobId?: string }, jobId = value.id ?? value.jobId!): FirecrawlPayload {
  value.id = jobId;
  value.metadata ??= {};
  return value;
}

/**
 * A stored body as the payload sinks see. Throws when it does not parse: that event's own
 * failure (a body stored by an older release may still carry a BOM; it is skipped here too).
 */
export function payloadOf(body: Buffer, jobId: string): FirecrawlPayload {
  const value: unknown = JSON.parse(withoutBom(body).toString('utf8'));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('stored body is not a JSON object');
  return normalizePayload(value as FirecrawlPayload, (value as { id?: string }).id ?? jobId);
}

function why(): string {
  const error = validate.errors?.[0];
  if (!error) return 'invalid';
  if (error.keyword === 'anyOf') return 'expected an "id" (or legacy "jobId") string, got none';
  if (error.keyword === 'required') return `expected a "${String(error.params.missingProperty)}" field, got none`;
  const field = error.instancePath.slice(1).replace(/\//g, '.') || 'body';
  return `"${field}" ${error.message ?? 'is invalid'}`;
}

/** Refuses an id, type or webhookId that SQLite would store as other bytes than it reads back. */
function assertStoredStringsWellFormed(value: object): void {
  for (const field of STORED_STRINGS) {
    const text = (value as Partial<Record<string, unknown>>)[field];
    if (typeof text === 'string' && LONE_SURROGATE.test(text)) throw new RelayError('RELAY_ERR_INGRESS_STRING_NOT_UNICODE', [field]);
  }
}

/** Decodes, parses and checks a verified body; throws a RelayError answered as 400. */
export function parseEnvelope(received: Buffer): Envelope {
  const body = withoutBom(received);
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new RelayError('RELAY_ERR_INGRESS_BODY_NOT_UTF8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // SyntaxError, or RangeError for nesting deeper than the stack.
    throw new RelayError('RELAY_ERR_INGRESS_BODY_NOT_JSON', [body.length === 0 ? 'an empty body' : 'invalid JSON']);
  }
  // Depth and prototype-polluting keys, in one walk that costs far less than the parse.
  assertSafeJson(value);
  if (!validate(value)) throw new RelayError('RELAY_ERR_INGRESS_ENVELOPE_INVALID', [why()]);
  assertStoredStringsWellFormed(value);
  assertNoNulInIds(value);
  const payload = normalizePayload(value as FirecrawlPayload & { jobId?: string });
  return { payload, type: payload.type, jobId: payload.id, body, url: pageUrlOf(payload) };
}
