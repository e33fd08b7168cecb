import type { ConfigIssue } from './config-error.js';
import type { RetryDefaults } from '../plugin-api/types.js';
import type { Router } from '../routing/router.js';

export type SourceAuth =
  | { kind: 'signature'; secrets: readonly string[] }
  /** The header when it is sent, else the query parameter; at least one of the two is set. */
  | { kind: 'token'; header?: string; query?: string; tokens: readonly string[] }
  | { kind: 'none' };

/** What makes a webhook a duplicate: its `webhookId`, or also its body's SHA-256; or nothing. */
export type DedupeMode = 'webhook_id' | 'body' | 'none';

export interface SourceConfig {
  name: string;
  path: string;
  auth: SourceAuth;
  dedupe: DedupeMode;
}

/** A sink's `retry:` settings once defaults are filled; `schedule_ms` only when given. */
export type RetryConfig = Omit<RetryDefaults, 'schedule_ms'> & { schedule_ms?: number[] };

export interface SinkConfig {
  name: string;
  type: string;
  retry: RetryConfig;
  batch_max_events: number;
  /** Body bytes per batch; the first event goes whatever its size. */
  batch_max_bytes: number;
  batch_linger_ms: number;
  write_timeout_ms: number;
  /** Per-event sinks: jobs (lanes) delivered side by side. */
  max_in_flight: number;
  /** Events per second with a burst, run by the relay; null for none. */
  rate_limit: { per_second: number; burst: number } | null;
  /** Pending body bytes of this sink past which `when_full` applies. */
  max_pending_bytes: number;
  when_full: 'dead_letter' | 'reject';
  /** The sink's own options, validated against its definition's schema, defaults filled. */
  options: Record<string, unknown>;
}

export interface Condition {
  field: string;
  equals?: unknown;
  not_equals?: unknown;
  one_of?: unknown[];
  not_one_of?: unknown[];
  exists?: boolean;
  glob?: string;
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

export interface MatchConfig {
  type?: string | string[];
  events?: string[];
  success?: boolean;
  source?: string | string[];
  where?: Condition[];
}

export interface RouteConfig {
  name: string;
  match: MatchConfig;
  to: string[];
}

export interface RelayConfig {
  /** Absolute path of the file it was loaded from (or a label for inline text). */
  file: string;
  /** Folder that relative paths in the file are resolved against. */
  dir: string;
  server: {
    host: string;
    port: number;
    body_limit_bytes: number;
    max_inflight_bytes: number;
    /** Filled from max_inflight_bytes (a quarter, at least body_limit_bytes) when not written. */
    max_inflight_bytes_per_peer: number;
    headers_timeout_ms: number;
    body_timeout_ms: number;
    max_connections: number;
    /** Filled from max_connections (an eighth) when not written. */
    max_connections_per_address: number;
    shutdown_timeout_ms: number;
  };
  log: { level: string };
  /** Bearer token of the admin API; '' when it is off. */
  admin: { token: string };
  /** Absolute path of the sink plugins folder. */
  plugins: { dir: string };
  sources: SourceConfig[];
  queue: {
    /** sqlite: a file under `dir`, one relay; postgres: a database at `url` that several relays share. */
    store: 'sqlite' | 'postgres';
    dir: string;
    url?: string;
    schema?: string;
    /** postgres: a lane claimed by a replica that stopped renewing it is taken over after this long. */
    lease_ms: number;
    max_bytes: number;
    dedupe_window_seconds: number;
  };
  /** Dead letters older than `retention_seconds`, or the oldest past `max_bytes` of bodies, are dropped. */
  dead_letters: { retention_seconds: number; max_bytes: number };
  /** Delivered events and their attempts, kept for the console; retention 0 keeps none. */
  history: { retention_seconds: number; max_bytes: number };
  sinks: SinkConfig[];
  routes: RouteConfig[];
  router: Router;
  /** Sinks switched off with `enabled: false`: not created, left out of every route. */
  disabledSinks: string[];
  /** Things worth a look that do not stop the relay (unused sink, unknown event word). */
  warnings: ConfigIssue[];
}
