import { Ajv } from 'ajv';
import secureJson from 'secure-json-parse';
import { RelayError } from '../errors.js';
import { assertJsonDepth } from './json-depth.js';
import type { FirecrawlPayload } from '../plugin-api/types.js';

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
const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface Envelope {
  payload: FirecrawlPayload;
  type: string;
  jobId: string;
}

function why(): string {
  const error = validate.errors?.[0];
  if (!error) return 'invalid';
  if (error.keyword === 'anyOf') return 'expected an "id" (or legacy "jobId") string, got none';
  if (error.keyword === 'required') return `expected a "${String(error.params.missingProperty)}" field, got none`;
  const field = error.instancePath.slice(1).replace(/\//g, '.') || 'body';
  return `"${field}" ${error.message ?? 'is invalid'}`;
}

/** Decodes, parses and checks a verified body; throws a RelayError answered as 400. */
export function parseEnvelope(body: Buffer): Envelope {
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
  assertJsonDepth(value);
  // Keys that could pollute prototypes downstream. The parsed value is scanned, not the
  // text: "\u005f_proto__" is the same key once parsed. A walk costs far less than the parse.
  if (typeof value === 'object' && value !== null) {
    try {
      secureJson.scan(value, { protoAction: 'error', constructorAction: 'error' });
    } catch {
      throw new RelayError('RELAY_ERR_INGRESS_BODY_UNSAFE_KEY');
    }
  }
  if (!validate(value)) throw new RelayError('RELAY_ERR_INGRESS_ENVELOPE_INVALID', [why()]);
  const payload = value as FirecrawlPayload & { jobId?: string };
  const jobId = payload.id ?? payload.jobId!;
  return { payload: { ...payload, id: jobId, metadata: payload.metadata ?? {} }, type: payload.type, jobId };
}
