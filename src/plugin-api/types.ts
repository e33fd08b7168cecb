import type { Logger } from 'pino';

/** A Firecrawl webhook body as it was received (after envelope validation). */
export interface FirecrawlPayload {
  success: boolean;
  type: string;
  /** The job id. Legacy v0 senders call it `jobId`; the relay fills `id` from it. */
  id: string;
  data: unknown[] | Record<string, unknown>;
  metadata: Record<string, unknown>;
  /** Usually a message; any JSON as the sender wrote it (self-hosted v0 sends `{}`). */
  error?: unknown;
  /** Firecrawl's delivery id when a non-empty string (read it with `webhookIdOf`); any JSON as sent. */
  webhookId?: unknown;
  [key: string]: unknown;
}

/** `T` with every property and element read-only, however deep (functions, dates and buffers as they are). */
export type DeepReadonly<T> = T extends (...args: never[]) => unknown
  ? T
  : T extends Date | Buffer
    ? T
    : T extends ReadonlyArray<infer U>
      ? ReadonlyArray<DeepReadonly<U>>
      : T extends object
        ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
        : T;

/** One event handed to a sink: one delivery of one accepted webhook to this sink. */
export interface RelayEvent {
  /** Stable across every retry of this delivery: receivers can dedupe on it. */
  readonly deliveryId: string;
  /** The accepted webhook this delivery carries (several sinks share it). */
  readonly eventId: string;
  /** The source (config `sources.<name>`) that accepted it. */
  readonly source: string;
  readonly receivedAt: Date;
  /** 1 on the first try, 2 on the first retry, … */
  readonly attempt: number;
  readonly type: string;
  readonly jobId: string;
  readonly success: boolean;
  /** The parsed body, read-only (frozen, and typed so): other sinks receive the same event. */
  readonly payload: DeepReadonly<FirecrawlPayload>;
  /** The exact bytes received, e.g. to forward them unchanged. */
  readonly raw: Buffer;
}

/** What `write` may resolve with when only some events of a batch failed. */
export interface WriteResult {
  /**
   * Indexes into the batch of the events that failed, each with its error. An event of a
   * job that failed means every later event of that job in the batch was not delivered
   * either: the sink must not have delivered them (the relay retries the job's lane from
   * its first failure, and later events of that lane are not counted as attempts).
   */
  failed: ReadonlyArray<{ index: number; error: unknown }>;
}

/** The relay's lifecycle calls, shared by both forms of sink. */
interface SinkLifecycle {
  /**
   * Once before the first write, and again (with backoff) after it threw or after a write
   * reported `NotConnectedError` (thrown, or for some events). Until it resolves, the
   * sink's deliveries wait in the queue and no attempt is counted.
   */
  connect?(signal: AbortSignal): Promise<void>;
  /**
   * Polled in the background (not per probe) with a timeout; throw when the destination
   * cannot take writes. Reported in `/readyz` and `relay_sink_up` until a connect or a
   * write shows newer; never gates ingress.
   */
  healthcheck?(signal: AbortSignal): Promise<void>;
  /**
   * Once at shutdown or when a reload removes or changes the sink, after every write in
   * flight settled (or, for a write that ignores its signal, after the shutdown deadline).
   */
  close?(): Promise<void>;
}

/** What `deliver` may resolve with: the destination's answer, for the attempt's history. */
export interface DeliverResult {
  // `| undefined`: a plugin compiled with exactOptionalPropertyTypes may pass `res?.status`.
  statusCode?: number | undefined;
}

/**
 * A per-event sink: the relay calls `deliver` for one event at a time of each job, and
 * runs up to `max_in_flight` jobs side by side (the relay owns concurrency and
 * `rate_limit`; the sink keeps none of its own).
 *
 * Order: events of one job (one lane) reach `deliver` in the order they were accepted,
 * each only after the previous one resolved. Resolve once the destination accepted the
 * event; throw to fail it, and the job's later events wait until it succeeds (backoff),
 * or until it is dead-lettered (a `PermanentError`, or retries exhausted).
 *
 * `signal` aborts on `write_timeout_ms` and at shutdown: stop the work and reject. The
 * relay waits for the promise either way, and starts nothing in that slot before it
 * settles. A call aborted at shutdown is not counted as an attempt.
 */
export interface EventSink extends SinkLifecycle {
  /** May resolve with the destination's status code: the console shows it with the attempt. */
  deliver(event: RelayEvent, signal: AbortSignal): Promise<void | DeliverResult>;
  write?: never;
}

/**
 * A batch-native sink (e.g. Kafka, where one produce request keeps a partition's order):
 * one `write` at a time, never concurrently. A batch holds the head events of several
 * jobs, each job's events consecutive and in order.
 *
 * Resolve once the destination accepted every event. To fail some, resolve
 * `{ failed: [...] }` (see `WriteResult` for what it must mean); throwing means the
 * destination is unreachable: the whole batch is retried and the sink pauses with backoff.
 * `signal` aborts on `write_timeout_ms` and at shutdown, as for `deliver`.
 */
export interface BatchSink extends SinkLifecycle {
  write(batch: readonly RelayEvent[], signal: AbortSignal): Promise<void | WriteResult>;
  deliver?: never;
}

/**
 * What `create` returns: a per-event sink (`deliver`) or a batch-native one (`write`).
 * Errors: `RetryableError` (optionally with `retryAfterMs`, which pauses the whole sink
 * until then, as a 429 asks), `PermanentError` (straight to the dead letters),
 * `NotConnectedError` (the sink reconnects; no attempt counted); any other error is retryable.
 */
export type Sink = EventSink | BatchSink;

/** Framework-run settings a sink type may give defaults for (the user's keys win). */
export interface DeliveryDefaults {
  /** Events per `write` of a batch-native sink (the relay's default: 100). */
  batch_max_events?: number;
  /** Per-event sinks: jobs delivered side by side. */
  max_in_flight?: number;
  /** Events per second, with a burst; e.g. Slack's one message per second. */
  rate_limit?: { per_second: number; burst: number };
}

/** Handed to `create`: what a sink instance may use of the relay. */
export interface SinkContext {
  /** The sink's name in the config (`sinks.<name>`). */
  readonly name: string;
  /** A child logger bound to `{ sink: name }`. Never log payloads or secrets. */
  readonly logger: Logger;
  /** The folder the config file lives in: resolve relative paths against it. */
  readonly configDir: string;
}

/** The `retry:` keys a sink definition may give defaults for. */
export interface RetryDefaults {
  initial_delay_ms: number;
  max_delay_ms: number;
  multiplier: number;
  jitter: number;
  max_attempts: number;
  max_age_seconds: number;
  schedule_ms: number[];
}

/** A problem `check` found: where in the sink's options, and what was expected. */
export interface OptionProblem {
  path: ReadonlyArray<string | number>;
  message: string;
}

/** A JSON Schema for a sink's own options (the relay handles `type`, `retry`, …). */
export type JsonSchema = Record<string, unknown>;

export interface SinkDefinition<Options = Record<string, unknown>> {
  /** The `type:` that selects this sink in `relay.config.yaml`, in lower snake_case. */
  readonly type: string;
  /**
   * Validates the sink's options at load; defaults written here are filled in. With
   * `defineSink` it is a TypeBox schema (`Type.Object(…)`), which gives `create` its type.
   */
  readonly configSchema: JsonSchema;
  /** Retry settings this kind of sink wants by default; the user's `retry:` keys win. */
  readonly retryDefaults?: Partial<RetryDefaults>;
  /** `batch_max_events`, `max_in_flight` and `rate_limit` this kind of sink wants by default. */
  readonly deliveryDefaults?: DeliveryDefaults;
  /**
   * Checks beyond the schema, at load (e.g. that a template can resolve). Each problem
   * is shown like any config error, at the file line of `path` inside the sink's options.
   */
  // Function-typed properties, not methods: a method's parameters are bivariant, so a
  // `create` asking for options the schema does not give would still compile.
  readonly check?: (options: Options) => ReadonlyArray<OptionProblem>;
  /** Called once per configured sink, after its options passed `configSchema` and `check`. */
  readonly create: (options: Options, ctx: SinkContext) => Sink | Promise<Sink>;
}
