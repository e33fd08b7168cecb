import { MAX_PAGES_PER_EVENT_OPTION, type JsonSchema } from '../../plugin-api/index.js';

export interface KafkaSinkOptions {
  brokers: string[];
  client_id: string;
  /** Template; rendered per event (per element with `split: data`). */
  topic: string;
  /** Template; the default keeps one job on one partition. */
  key: string;
  /** Extra headers: name → template. */
  headers: Record<string, string>;
  /** Adds firecrawl-event-type, firecrawl-job-id, firecrawl-webhook-id, relay-delivery-id. */
  default_headers: boolean;
  /** `data`: one message per element of `data` (per page); `none`: one message per event. */
  split: 'none' | 'data';
  compression: 'none' | 'gzip';
  /** -1: all in-sync replicas, 1: the leader, 0: none. */
  acks: -1 | 0 | 1;
  connection_timeout_ms: number;
  request_timeout_ms: number;
  ssl: boolean | { ca?: string; cert?: string; key?: string; reject_unauthorized?: boolean };
  /** split: data: an event with more elements is dead-lettered instead of becoming that many messages. */
  max_pages_per_event: number;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

const PEM = { type: 'string', minLength: 1, description: 'PEM text (use ${VAR} to read it from the environment)' };

export const KAFKA_OPTIONS_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['brokers'],
  properties: {
    brokers: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[^\\s:]+:[0-9]+$' } },
    client_id: { type: 'string', minLength: 1, default: 'firecrawl-relay' },
    topic: { type: 'string', minLength: 1, default: 'firecrawl.{{type}}' },
    key: { type: 'string', minLength: 1, default: '{{id}}' },
    headers: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
    default_headers: { type: 'boolean', default: true },
    split: { enum: ['none', 'data'], default: 'none' },
    compression: { enum: ['none', 'gzip'], default: 'none' },
    acks: { enum: [-1, 0, 1], default: -1 },
    connection_timeout_ms: { type: 'integer', minimum: 1, default: 3000 },
    request_timeout_ms: { type: 'integer', minimum: 1, default: 30_000 },
    max_pages_per_event: MAX_PAGES_PER_EVENT_OPTION,
    ssl: {
      type: ['boolean', 'object'],
      default: false,
      additionalProperties: false,
      properties: { ca: PEM, cert: PEM, key: PEM, reject_unauthorized: { type: 'boolean', default: true } },
    },
    sasl: {
      type: 'object',
      additionalProperties: false,
      required: ['mechanism', 'username', 'password'],
      properties: {
        mechanism: { enum: ['plain', 'scram-sha-256', 'scram-sha-512'] },
        username: { type: 'string', minLength: 1 },
        password: { type: 'string', minLength: 1 },
      },
    },
  },
};
