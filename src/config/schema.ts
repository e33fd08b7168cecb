/**
 * The one JSON Schema of relay.config.yaml. Defaults live here and nowhere else.
 * A sink's own options are checked afterwards against its definition's `configSchema`;
 * here a sink only needs a `type` and the keys every sink shares.
 */

const NAME = '^[A-Za-z0-9_-]+$';

export const RETRY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    initial_delay_ms: { type: 'integer', minimum: 0, default: 1000 },
    max_delay_ms: { type: 'integer', minimum: 0, default: 300_000 },
    multiplier: { type: 'number', minimum: 1, default: 2 },
    jitter: { type: 'number', minimum: 0, maximum: 1, default: 0.2 },
    max_attempts: { type: 'integer', minimum: 1, default: 12 },
    max_age_seconds: { type: 'integer', minimum: 0, default: 86_400 },
    // Fixed delays before each retry, instead of the exponential curve (no jitter).
    schedule_ms: { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1 },
  },
} as const;

/** Keys every sink accepts; the rest of a sink's map is its own options. */
export const COMMON_SINK_KEYS = [
  'type',
  'enabled',
  'retry',
  'batch_max_events',
  'batch_max_bytes',
  'batch_linger_ms',
  'write_timeout_ms',
  'max_in_flight',
  'rate_limit',
  'max_pending_bytes',
  'when_full',
] as const;

export const SINK_SCHEMA = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string', minLength: 1 },
    // false (or empty, as \${VAR:+true} gives when VAR is unset): the sink is off, routes skip it.
    enabled: { enum: [true, false, ''], default: true },
    retry: RETRY_SCHEMA,
    // Events per write (default: the sink type's, else 100).
    batch_max_events: { type: 'integer', minimum: 1, maximum: 10_000 },
    // Bodies held in one batch (16 MiB): 100 pages of 10 MB would otherwise be 1 GB in memory.
    // The first event of a batch goes whatever its size.
    batch_max_bytes: { type: 'integer', minimum: 1, default: 16 * 1024 * 1024 },
    // Wait this long for a short batch to fill up (fewer, larger writes; Kafka's linger.ms).
    batch_linger_ms: { type: 'integer', minimum: 0, maximum: 60_000, default: 0 },
    write_timeout_ms: { type: 'integer', minimum: 1, default: 30_000 },
    // Per-event sinks: jobs delivered side by side (default: the sink type's, else 8).
    max_in_flight: { type: 'integer', minimum: 1, maximum: 1000 },
    // Events per second with a burst, run by the relay (default: the sink type's, else none).
    rate_limit: {
      type: 'object',
      additionalProperties: false,
      required: ['per_second'],
      properties: {
        per_second: { type: 'number', exclusiveMinimum: 0 },
        burst: { type: 'integer', minimum: 1 },
      },
    },
    // Body bytes this sink's pending deliveries may hold before `when_full` applies (256 MiB),
    // so that one stuck destination cannot fill the queue every other sink shares.
    max_pending_bytes: { type: 'integer', minimum: 1024, default: 268_435_456 },
    // dead_letter: the new delivery is parked as a dead letter (replayable); reject: 503.
    when_full: { enum: ['dead_letter', 'reject'], default: 'dead_letter' },
  },
} as const;

const SECRET_LIST = { type: 'array', items: { type: 'string' } } as const;

const SOURCE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: { type: 'string', pattern: '^/[A-Za-z0-9/_.~-]*$' },
    secrets: SECRET_LIST,
    // "signature" (default) | "none" | { header, query, tokens } for senders that cannot sign.
    auth: {
      type: ['string', 'object'],
      default: 'signature',
      if: { type: 'string' },
      then: { enum: ['signature', 'none'] },
      else: {
        additionalProperties: false,
        // At least one of header and query (checked at load, for a clearer message). v0 jobs
        // post to SELF_HOSTED_WEBHOOK_URL, which carries no header: a query parameter then.
        required: ['tokens'],
        properties: {
          header: { type: 'string', pattern: '^[A-Za-z0-9-]+$' },
          query: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$' },
          tokens: SECRET_LIST,
        },
      },
    },
    // webhook_id: a resent webhookId is acknowledged, not delivered again (no webhookId, no dedupe).
    // body: also identical bodies without webhookId (self-hosted senders repeat some on purpose).
    // true is the deprecated spelling of webhook_id (warned at load); false and none turn dedupe
    // off. The booleans stay out of the enum, so an unknown word is told only the current ones.
    dedupe: { type: ['string', 'boolean'], default: 'webhook_id', if: { type: 'string' }, then: { enum: ['webhook_id', 'body', 'none'] } },
  },
} as const;

const CONDITION_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['field'],
  properties: {
    field: { type: 'string', minLength: 1 },
    equals: {},
    not_equals: {},
    one_of: { type: 'array' },
    not_one_of: { type: 'array' },
    exists: { type: 'boolean' },
    glob: { type: 'string' },
    gt: { type: 'number' },
    gte: { type: 'number' },
    lt: { type: 'number' },
    lte: { type: 'number' },
  },
} as const;

const STRING_OR_LIST = { type: ['string', 'array'], items: { type: 'string' }, minItems: 1 } as const;

const ROUTE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'to'],
  properties: {
    name: { type: 'string', pattern: NAME },
    match: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        type: STRING_OR_LIST,
        events: { type: 'array', items: { type: 'string' }, minItems: 1 },
        success: { type: 'boolean' },
        source: STRING_OR_LIST,
        where: { type: 'array', items: CONDITION_SCHEMA },
      },
    },
    to: { type: 'array', items: { type: 'string' }, minItems: 1 },
  },
} as const;

export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['sources', 'sinks', 'routes'],
  properties: {
    server: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'integer', minimum: 0, maximum: 65_535, default: 8080 },
        // A crawl page with full markdown and HTML can be several MB; 32 MiB leaves room.
        body_limit_bytes: { type: 'integer', minimum: 1024, default: 33_554_432 },
        // Bodies held at once while they are read, checked and written (256 MiB): a burst of
        // large pages gets 503 instead of exhausting memory (hosted Firecrawl retries; self-hosted does not).
        max_inflight_bytes: { type: 'integer', minimum: 1024, default: 268_435_456 },
        // SIGTERM/SIGINT: time to drain writes in flight and close sinks; the process ends at
        // most 2 s after it whatever hangs (a sink, the log destination). At most 10 min: a
        // drain longer than that is a stuck one, and every timer built on it stays far below
        // what setTimeout can hold (2^31-1 ms; past it Node fires at once).
        shutdown_timeout_ms: { type: 'integer', minimum: 100, maximum: 600_000, default: 10_000 },
        // What one remote address may hold of it (default: a quarter, at least body_limit_bytes), so a few idle
        // connections from one peer cannot shut the ingress for everyone else.
        max_inflight_bytes_per_peer: { type: 'integer', minimum: 1024 },
        // A request's headers must arrive within this, and the whole request (headers and
        // body) within body_timeout_ms; a slower or stalled sender is cut off.
        headers_timeout_ms: { type: 'integer', minimum: 1, default: 10_000 },
        body_timeout_ms: { type: 'integer', minimum: 1, default: 30_000 },
        // Connections open at once; past it a new one is closed on arrival (each holds a socket and parser state).
        max_connections: { type: 'integer', minimum: 1, default: 2048 },
        // Of them, from one remote address (default: an eighth, at least 64); past it a new one is closed on arrival.
        max_connections_per_address: { type: 'integer', minimum: 1 },
      },
    },
    plugins: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        // Sink plugins: every .ts/.js module here (relative to the config file).
        dir: { type: 'string', minLength: 1, default: './plugins' },
      },
    },
    admin: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        // Bearer token of the /admin API; empty turns the API off.
        token: { type: 'string', default: '' },
      },
    },
    log: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
      },
    },
    sources: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: NAME },
      additionalProperties: SOURCE_SCHEMA,
    },
    queue: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        // sqlite: embedded, one relay; postgres: shared by several relays (docs/scale-out.md).
        store: { enum: ['sqlite', 'postgres'], default: 'sqlite' },
        dir: { type: 'string', minLength: 1, default: './data/queue' },
        url: { type: 'string', pattern: '^postgres(ql)?://' },
        schema: { type: 'string', minLength: 1, maxLength: 63 },
        // postgres: how long a replica keeps a lane it stopped renewing (it died) before another takes it.
        lease_ms: { type: 'integer', minimum: 1_000, default: 30_000 },
        max_bytes: { type: 'integer', minimum: 1_048_576, default: 1_073_741_824 },
        dedupe_window_seconds: { type: 'integer', minimum: 0, default: 86_400 },
      },
      if: { properties: { store: { const: 'postgres' } }, required: ['store'] },
      then: { required: ['url'] },
    },
    dead_letters: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        // How long a dead letter is kept for replay before it is dropped (7 days).
        retention_seconds: { type: 'integer', minimum: 60, default: 604_800 },
        // Past this many bytes of bodies, the oldest dead letters are dropped (default: a quarter of queue.max_bytes).
        max_bytes: { type: 'integer', minimum: 0 },
      },
    },
    history: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        // Delivered events and their attempts are kept this long for the console (24 h) …
        retention_seconds: { type: 'integer', minimum: 0, default: 86_400 },
        // … and while the queue holds less than this (default: a quarter of queue.max_bytes,
        // at most 256 MiB, so kept history never fills the queue); 0 for retention_seconds keeps none.
        max_bytes: { type: 'integer', minimum: 0 },
      },
    },
    sinks: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: NAME },
      additionalProperties: SINK_SCHEMA,
    },
    routes: { type: 'array', minItems: 1, items: ROUTE_SCHEMA },
  },
} as const;
