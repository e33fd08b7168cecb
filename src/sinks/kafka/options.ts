import { Enum, MAX_PAGES_PER_EVENT_OPTION, Type, type Static } from '../../plugin-api/index.js';

const PEM = Type.String({ minLength: 1, description: 'PEM text (use ${VAR} to read it from the environment)' });

/** `ssl: true`, or the TLS material and checks to use. */
const SSL = Type.Unsafe<boolean | { ca?: string; cert?: string; key?: string; reject_unauthorized: boolean }>({
  type: ['boolean', 'object'],
  default: false,
  additionalProperties: false,
  properties: { ca: PEM, cert: PEM, key: PEM, reject_unauthorized: { type: 'boolean', default: true } },
});

/** The Kafka sink's options: the schema validated at load, and (Static) their type. */
export const KAFKA_OPTIONS_SCHEMA = Type.Object(
  {
    brokers: Type.Array(Type.String({ pattern: '^[^\\s:]+:[0-9]+$' }), { minItems: 1 }),
    client_id: Type.String({ minLength: 1, default: 'firecrawl-relay' }),
    /** Template; rendered per event (per element with `split: data`). */
    topic: Type.String({ minLength: 1, default: 'firecrawl.{{type}}' }),
    /** Template; the default keeps one job on one partition. */
    key: Type.String({ minLength: 1, default: '{{id}}' }),
    /** Extra headers: name → template. */
    headers: Type.Record(Type.String(), Type.String(), { default: {} }),
    /** Adds firecrawl-event-type, firecrawl-job-id, firecrawl-webhook-id, relay-delivery-id. */
    default_headers: Type.Boolean({ default: true }),
    /** `data`: one message per element of `data` (per page); `none`: one message per event. */
    split: Enum(['none', 'data'], { default: 'none' }),
    compression: Enum(['none', 'gzip'], { default: 'none' }),
    /** -1: all in-sync replicas, 1: the leader, 0: none. */
    acks: Enum([-1, 0, 1], { default: -1 }),
    connection_timeout_ms: Type.Integer({ minimum: 1, default: 3000 }),
    request_timeout_ms: Type.Integer({ minimum: 1, default: 30_000 }),
    ssl: SSL,
    /** split: data: an event with more elements is dead-lettered instead of becoming that many messages. */
    max_pages_per_event: MAX_PAGES_PER_EVENT_OPTION,
    sasl: Type.Optional(
      Type.Object(
        {
          mechanism: Enum(['plain', 'scram-sha-256', 'scram-sha-512']),
          username: Type.String({ minLength: 1 }),
          password: Type.String({ minLength: 1 }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type KafkaSinkOptions = Static<typeof KAFKA_OPTIONS_SCHEMA>;
