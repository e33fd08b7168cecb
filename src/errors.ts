import { format } from 'node:util';

/**
 * Every error a user can see, declared once. The key is the code; `message` is a
 * util.format template. docs/errors.md lists the same codes (a test keeps both in step).
 */
export const ERRORS = {
  // ingress: answered to the sender
  RELAY_ERR_INGRESS_SIGNATURE_MISSING: { status: 401, message: 'expected an X-Firecrawl-Signature header, got none' },
  RELAY_ERR_INGRESS_SIGNATURE_MALFORMED: {
    status: 401,
    message: 'expected X-Firecrawl-Signature as "sha256=<64 hex digits>", got %s',
  },
  RELAY_ERR_INGRESS_SIGNATURE_MISMATCH: {
    status: 401,
    message: 'the signature does not match the body under any secret of source "%s"',
  },
  RELAY_ERR_INGRESS_TOKEN_MISSING: { status: 401, message: 'expected %s, got none' },
  RELAY_ERR_INGRESS_TOKEN_REPEATED: { status: 401, message: 'expected the %s once, got it %s times' },
  RELAY_ERR_INGRESS_TOKEN_INVALID: { status: 401, message: 'the %s holds no token of source "%s"' },
  RELAY_ERR_INGRESS_BODY_TOO_LARGE: { status: 413, message: 'expected a body of at most %s bytes, got more' },
  RELAY_ERR_INGRESS_MEDIA_TYPE: { status: 415, message: 'expected Content-Type application/json, got %s' },
  RELAY_ERR_INGRESS_BODY_NOT_UTF8: { status: 400, message: 'expected a UTF-8 body, got invalid byte sequences' },
  RELAY_ERR_INGRESS_STRING_NOT_UNICODE: {
    status: 400,
    message: 'expected well-formed Unicode in "%s", got a lone UTF-16 surrogate (an unpaired \\uD800-\\uDFFF escape)',
  },
  RELAY_ERR_INGRESS_BODY_NOT_JSON: { status: 400, message: 'expected a JSON body, got %s' },
  RELAY_ERR_INGRESS_BODY_UNSAFE_KEY: {
    status: 400,
    message: 'expected JSON without "__proto__" or "constructor.prototype" keys, got one',
  },
  RELAY_ERR_INGRESS_BODY_TOO_DEEP: { status: 400, message: 'expected JSON nested at most %s levels deep, got deeper' },
  RELAY_ERR_INGRESS_ENVELOPE_INVALID: { status: 400, message: 'expected a Firecrawl webhook envelope: %s' },
  RELAY_ERR_INGRESS_NOT_FOUND: { status: 404, message: 'no source listens on %s %s' },
  RELAY_ERR_QUEUE_FULL: {
    status: 503,
    message: 'the queue holds %s bytes, its limit is %s: the event was not accepted, retry later',
  },
  RELAY_ERR_QUEUE_SINK_FULL: {
    status: 503,
    message: 'sink "%s" has %s bytes pending, its max_pending_bytes is %s (when_full: reject): the event was not accepted, retry later',
  },
  RELAY_ERR_QUEUE_UNAVAILABLE: { status: 503, message: 'the event could not be written to the queue: %s' },
  RELAY_ERR_QUEUE_SCHEMA_NEWER: {
    status: 0,
    message: 'the queue in %s is at schema version %s, newer than this relay understands (%s): run the newer relay on it, or point this one at another database or schema',
  },
  RELAY_ERR_QUEUE_SCHEMA_OLDER: {
    status: 0,
    message: 'the queue in %s is at schema version %s, older than this relay\'s (%s): only `serve` migrates a shared queue (so a newer CLI never upgrades it under an older fleet); roll the relays out at this version first, then run this command',
  },
  RELAY_ERR_QUEUE_REFUSED: {
    status: 0,
    message: 'the queue database %s answered at start, and refused: %s (SQLSTATE %s): check the user, password and database in queue.url and the role\'s rights (docs/scale-out.md, "Roles")',
  },
  RELAY_ERR_QUEUE_UNREACHABLE: {
    status: 0,
    message: 'the queue database %s did not answer at start (%s): expected a PostgreSQL that accepts a connection and a statement within %s ms; check queue.url and that the server is up',
  },
  RELAY_ERR_QUEUE_PRIVILEGE: {
    status: 0,
    message: 'the queue in %s is not fully usable by role "%s": expected %s, missing %s; run as the tables\' owner: %s',
  },
  RELAY_ERR_QUEUE_SSL: {
    status: 0,
    message: 'the queue database %s answered, and the SSL connection queue.url asks for (sslmode=%s) failed: %s; expected a server with SSL on and a certificate this host trusts, or sslmode=disable in queue.url on a trusted network',
  },
  RELAY_ERR_SHUTTING_DOWN: { status: 503, message: 'the relay is shutting down, retry later' },
  RELAY_ERR_INGRESS_BUSY: {
    status: 503,
    message: 'the relay holds %s bytes of request bodies being received, its limit is %s: %s more bytes of this body would pass it, retry later',
  },
  RELAY_ERR_INGRESS_PEER_BUSY: {
    status: 503,
    message: 'this address holds %s bytes of request bodies being received, its share is %s: %s more bytes of this body would pass it, retry later',
  },
  RELAY_ERR_INGRESS_TIMEOUT: {
    status: 408,
    message: 'expected the request headers within %s ms and the whole request within %s ms, got it slower',
  },
  RELAY_ERR_INGRESS_BAD_REQUEST: { status: 400, message: 'the request could not be read: %s' },
  RELAY_ERR_INGRESS_HEADERS_TOO_LARGE: { status: 431, message: 'expected request headers of at most 16 KiB, got more' },
  RELAY_ERR_INTERNAL: { status: 500, message: 'the relay failed to handle the request; it has been logged' },

  // admin API
  RELAY_ERR_ADMIN_DISABLED: { status: 404, message: 'the admin API is off: set admin.token in the config to turn it on' },
  RELAY_ERR_ADMIN_TOKEN_MISSING: { status: 401, message: 'expected an Authorization: Bearer <token> header, got none' },
  RELAY_ERR_ADMIN_TOKEN_INVALID: { status: 401, message: 'the bearer token is not the admin token' },
  RELAY_ERR_ADMIN_BAD_REQUEST: { status: 400, message: '%s' },
  RELAY_ERR_ADMIN_NOT_FOUND: { status: 404, message: 'no dead letter with id %s' },
  RELAY_ERR_ADMIN_ROUTE_NOT_FOUND: { status: 404, message: 'no admin route answers %s %s (the routes are listed at GET /admin/openapi.json)' },
  RELAY_ERR_ADMIN_CONSOLE_NOT_FOUND: { status: 404, message: 'no console page or file at %s %s (the console is at /console/)' },
  RELAY_ERR_ADMIN_EVENT_NOT_FOUND: { status: 404, message: 'no stored event with id %s (delivered events are kept for history.retention_seconds)' },
  RELAY_ERR_QUEUE_REPLAY_SINK_UNAVAILABLE: {
    status: 409,
    message: 'expected a replay to a running sink, got sink "%s": %s (its dead letters would be parked again within 60 s)',
  },
  RELAY_ERR_ADMIN_BACKFILL_RUNNING: {
    status: 409,
    message: 'expected one backfill per sink and filter at a time, got a second for sink "%s" (%s) while the first runs: wait for its result',
  },
  RELAY_ERR_ADMIN_SINK_UNKNOWN: { status: 404, message: 'no sink named "%s" (known: %s)' },

  // config: shown at load with file:line:column and key path
  RELAY_ERR_CONFIG_READ: { status: 0, message: 'cannot read config file %s: %s' },
  RELAY_ERR_CONFIG_YAML: { status: 0, message: '%s' },
  RELAY_ERR_CONFIG_SCHEMA: { status: 0, message: '%s' },
  RELAY_ERR_CONFIG_ENV_UNSET: {
    status: 0,
    message: 'environment variable %s is not set: set it, or write ${%s:-default} where a default makes sense',
  },
  RELAY_ERR_CONFIG_ENV_UNSET_OFFLINE: {
    status: 0,
    message: 'environment variable %s is not set: read as empty by this command, which serves no webhooks; serve needs it',
  },
  RELAY_ERR_CONFIG_NO_SECRET: { status: 0, message: '%s' },
  RELAY_ERR_CONFIG_UNKNOWN_SINK: { status: 0, message: 'unknown sink "%s" (known: %s)%s' },
  RELAY_ERR_CONFIG_UNKNOWN_SINK_TYPE: { status: 0, message: 'unknown sink type "%s" (known: %s)%s' },
  RELAY_ERR_CONFIG_SINK_OPTIONS: { status: 0, message: '%s' },
  RELAY_ERR_CONFIG_DUPLICATE: { status: 0, message: '%s' },
  RELAY_ERR_CONFIG_BAD_GLOB: {
    status: 0,
    message: 'expected an event type or a glob of letters, digits and . _ - * ?, got "%s"',
  },
  RELAY_ERR_CONFIG_BAD_CONDITION: { status: 0, message: '%s' },
  RELAY_ERR_CONFIG_INVALID: { status: 0, message: '%s' },
  RELAY_ERR_CONFIG_QUEUE_URL: {
    status: 0,
    message:
      'expected queue.url as postgres://user:password@host:port/database, got one whose user, password and host do not parse (not shown: it holds a password): percent-encode @ # / ? in the password (%%40 %%23 %%2F %%3F)',
  },
  RELAY_ERR_CONFIG_QUEUE_SCHEMA: {
    status: 0,
    message: 'expected queue.schema to name a schema of the relay\'s own, got "%s": names starting with pg_ and information_schema belong to PostgreSQL',
  },
  RELAY_ERR_CONFIG_DEPRECATED: { status: 0, message: '%s' },
  RELAY_ERR_PLUGIN_LOAD: { status: 0, message: '%s' },
  RELAY_ERR_PLUGIN_INVALID: { status: 0, message: '%s' },
  RELAY_ERR_PLUGIN_DUPLICATE_TYPE: { status: 0, message: '%s' },
  RELAY_ERR_PLUGIN_CHECK_THREW: {
    status: 0,
    message: 'expected check() of sink type "%s" (%s) to return a list of problems for sink "%s", got an error thrown: %s',
  },
  RELAY_ERR_PLUGIN_SCHEMA_INVALID: {
    status: 0,
    message: 'expected a valid JSON Schema as `configSchema` of sink type "%s" (used by sink "%s"), got one ajv refuses: %s',
  },

  // sinks and delivery
  RELAY_ERR_SINK_TIMEOUT: {
    status: 0,
    message:
      'sink "%s" did not finish a write within %s ms (write_timeout_ms): the relay aborted its `signal` and waited for it to stop; pass `signal` to every I/O call of the sink, or raise write_timeout_ms if the destination is this slow',
  },
  RELAY_ERR_SINK_ABORT_IGNORED: {
    status: 0,
    message:
      'sink "%s" ignored the abort of a write past write_timeout_ms (%s ms): still running %s ms later, it holds its slot until it settles, and at shutdown the relay exits 1 waiting for it; pass `signal` to every I/O call of the sink and reject when it aborts',
  },
  RELAY_ERR_SINK_BLOCKED_LOOP: {
    status: 0,
    message:
      'expected sink "%s" to return from deliver()/write() at once (a promise), got synchronous work that held the event loop for %s ms: every other sink, webhook and timer waited meanwhile; await the I/O, or move CPU-heavy work to a worker thread',
  },
  RELAY_ERR_SINK_LOOP_STALLED: {
    status: 0,
    message:
      'expected the event loop to run every %s ms, got it blocked for %s ms: webhooks, every sink and every timer waited meanwhile; a plugin doing synchronous work (a busy loop, sync I/O, a huge JSON.stringify) stalls the whole relay',
  },
  RELAY_ERR_SINK_CONNECT: { status: 0, message: 'sink "%s" failed to connect: %s' },
  RELAY_ERR_SINK_CLOSE_TIMEOUT: {
    status: 0,
    message:
      'expected close() of sink "%s" to end within %s ms during a config reload, got it still running: the reload went on without it (the new instance delivers, later reloads apply); shutdown names it while it runs; make close() end its work and resolve',
  },
  RELAY_ERR_SINK_DELIVER_RESULT: {
    status: 0,
    message:
      'expected deliver() of sink "%s" to resolve nothing, got { failed: [...] }, which only a write() result means: the event counted as delivered; a per-event sink fails an event by throwing (RetryableError, PermanentError)',
  },
  RELAY_ERR_SINK_ORDER_BROKEN: {
    status: 0,
    message:
      'expected write() of sink "%s" to stop writing a job\'s events at its first failure, got the event at index %s failed and a later event of the same job written: the destination got them out of order (the later ones are written again after the retry); list a job\'s later events in `failed` too',
  },
  RELAY_ERR_SINK_RESULT_INVALID: {
    status: 0,
    message: 'sink "%s" write() resolved an invalid result: expected nothing or { failed: [{ index, error }] } with indexes 0 to %s, got %s',
  },

  // start: printed by `serve` before it exits 1
  RELAY_ERR_SERVE_LISTEN: { status: 0, message: 'expected to listen on %s (server.host, server.port), got %s' },

  // shutdown: the last log line of `serve`
  RELAY_ERR_SHUTDOWN_DEADLINE: {
    status: 0,
    message: 'expected shutdown to end within %s ms (server.shutdown_timeout_ms + %s ms), got these steps still running: %s',
  },
  RELAY_ERR_SHUTDOWN_INTERRUPTED: { status: 0, message: 'a second %s arrived while shutting down: exited at once, not finished: %s' },
  RELAY_ERR_SHUTDOWN_FAILED: { status: 0, message: 'shutdown failed in step "%s": %s' },

  // command line
  RELAY_ERR_CLI_USAGE: { status: 0, message: '%s' },
  RELAY_ERR_CLI_SAMPLE: { status: 0, message: 'expected --sample to name an event type, got "%s"%s (known: %s)' },
  RELAY_ERR_CLI_SEND: { status: 0, message: 'the relay answered %s: %s' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** A code's message with its arguments; `%%` is a literal % even with none (util.format leaves it as is then). */
export function formatMessage(code: ErrorCode, args: readonly unknown[]): string {
  const template: string = ERRORS[code].message;
  return args.length === 0 ? template.replace(/%%/g, '%') : format(template, ...args);
}

export class RelayError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;

  constructor(code: ErrorCode, args: readonly unknown[] = [], options?: { cause?: unknown }) {
    super(formatMessage(code, args), options);
    this.name = 'RelayError';
    this.code = code;
    this.statusCode = ERRORS[code].status;
  }

  /** The body every HTTP error answer carries. */
  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** A short, loggable description of any thrown value: never a payload. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : 'unknown error';
}
