import { inflightPerPeer } from './inflight-limits.js';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { SinkDefinition } from '../plugin-api/types.js';
import { compileRouter } from '../routing/router.js';
import { ConfigError, type ConfigIssue, type KeyPath } from './config-error.js';
import { interpolate, type Env, type UnsetAllowance, type VariableUses } from './interpolate.js';
import { checkLaterLayers, checkRouteReferences, checkSinkOptions, optionsOf, type SinkCheckContext, type SinkRegistry } from './layers.js';
import { CONFIG_SCHEMA } from './schema.js';
import { config as generatedConfigValidator } from './validators.generated.js';
import { schemaIssues } from './schema-issues.js';
import { postgresUrlParses } from './queue-url.js';
import { validateWithTypedValues, type Validator } from './typed-values.js';
import { checkAdminToken, checkTokenAuth } from './token-checks.js';
import type { DedupeMode, MatchConfig, RelayConfig, RetryConfig, RouteConfig, SinkConfig, SourceAuth, SourceConfig } from './types.js';
import { YamlSource } from './yaml-document.js';

export type { SinkRegistry };

export interface LoadOptions {
  registry: SinkRegistry;
  /** Every sink type there is, for "unknown sink type" errors when the registry holds only those in use. */
  knownTypes?: readonly string[];
  /** Types whose plugin failed to load: their sinks are not also reported as unknown. */
  failedTypes?: readonly string[];
  env?: Env;
  /**
   * False for commands that do not serve (`check`, `route`, `dlq`): an unset variable under
   * `sources.*.secrets` or `sources.*.auth` is read as empty and named in a warning instead
   * of stopping them, since they never verify a webhook.
   */
  serving?: boolean;
}

/** Paths the relay answers itself; a source may not take them. */
const RESERVED_PATHS = ['/healthz', '/readyz', '/metrics', '/admin'];

// Generated at build (validators-source.ts); `schema` is what typed-values reads, as on ajv's own.
const validateConfig: Validator = Object.assign(generatedConfigValidator, { schema: CONFIG_SCHEMA });

function readConfigText(file: string): string {
  try {
    return readFileSync(resolve(file), 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError([
      { code: 'RELAY_ERR_CONFIG_READ', file, line: 0, column: 0, path: '(file)', message: `cannot read ${file}: ${reason}` },
    ]);
  }
}

export function loadConfigFile(file: string, options: LoadOptions): RelayConfig {
  return parseConfig(readConfigText(file), file, { ...options, dir: dirname(resolve(file)) });
}

/**
 * What must be loaded before the full validation: where the config wants plugins loaded
 * from, and the sink types it names (so only those sink modules are imported). Problems
 * in the file are left for that validation.
 */
export function configPreview(file: string, env: Env = process.env): { pluginsDir: string; sinkTypes: string[] } {
  const source = new YamlSource(file, readConfigText(file));
  const unparsable = source.issues.length > 0;
  // An unset variable does not hide the sink types: the full validation reports it (or allows it offline).
  interpolate(source, env);
  const dir = source.doc.getIn(['plugins', 'dir']);
  // A file that does not parse (an alias without anchor) is reported by the full validation.
  const sinks = unparsable ? undefined : (source.doc.toJS()?.sinks as unknown);
  const sinkTypes = typeof sinks === 'object' && sinks !== null ? Object.values(sinks).map((s) => (s as { type?: unknown } | null)?.type) : [];
  return {
    pluginsDir: resolve(dirname(resolve(file)), typeof dir === 'string' && dir ? dir : './plugins'),
    sinkTypes: sinkTypes.filter((t): t is string => typeof t === 'string'),
  };
}

/**
 * Parses, interpolates and validates a config text. Collects every problem before
 * throwing one ConfigError; on success the result is frozen and ready to run.
 */
export function parseConfig(text: string, file: string, options: LoadOptions & { dir?: string }): RelayConfig {
  const source = new YamlSource(file, text);
  if (source.issues.length > 0) throw new ConfigError(source.issues);
  // Unset variables are reported with everything else, not on their own.
  const unset = options.serving === false ? ingressSecretsMayBeUnset() : undefined;
  const { uses, typed } = interpolate(source, options.env ?? process.env, unset);

  const raw: unknown = source.doc.toJS();
  const writtenRetryKeys = retryKeysWritten(raw);
  const warnings: ConfigIssue[] = [];
  for (const { name, path } of unset?.tolerated ?? []) {
    warnings.push(source.issue('RELAY_ERR_CONFIG_ENV_UNSET_OFFLINE', path, [name]));
  }
  if (!validateWithTypedValues(validateConfig, raw, typed)) {
    source.issues.push(...schemaIssues(source, validateConfig.errors ?? []));
    checkLaterLayers(source, raw, options.registry, { typed, knownTypes: options.knownTypes, failedTypes: options.failedTypes }, (code, path, args) =>
      warnings.push(source.issue(code, path, args)),
    );
    throw new ConfigError(source.issues, warnings);
  }
  const doc = raw as RawConfig;

  const sources = checkSources(source, doc, uses, warnings, unset !== undefined);
  const disabledSinks = Object.entries(doc.sinks).filter(([, s]) => s.enabled !== true).map(([name]) => name);
  const sinks = checkSinks(source, doc, options.registry, writtenRetryKeys, { typed, knownTypes: options.knownTypes, failedTypes: options.failedTypes }).filter((s) => !disabledSinks.includes(s.name));
  if (doc.queue.store === 'postgres' && doc.queue.url !== undefined && !postgresUrlParses(doc.queue.url)) {
    source.report('RELAY_ERR_CONFIG_QUEUE_URL', ['queue', 'url'], []);
  }
  // PostgreSQL's own schemas: tables there would mix with the catalog (pg_*), or fail to be created.
  if (doc.queue.schema !== undefined && /^(pg_|information_schema$)/i.test(doc.queue.schema)) {
    source.report('RELAY_ERR_CONFIG_QUEUE_SCHEMA', ['queue', 'schema'], [doc.queue.schema]);
  }
  if (doc.queue.store === 'postgres') {
    // Every replica delivers: a sink on the replica's own disk splits the output between machines.
    for (const sink of sinks.filter((s) => s.type === 'file')) {
      warnings.push(
        source.issue('RELAY_ERR_CONFIG_INVALID', ['sinks', sink.name, 'type'], [
          `expected sinks that every replica shares with queue.store: postgres, got a file sink: with several relays each writes its own part of the output to its own disk`,
        ]),
      );
    }
  }
  const routes = checkRoutes(source, doc, sources, warnings);
  const inflightPerPeerBytes = inflightPerPeer(source, doc.server);
  checkAdminToken(source, doc.admin.token, warnings);
  const router = compileRouter(
    routes.map((route) => ({ ...route, to: route.to.filter((sink) => !disabledSinks.includes(sink)) })),
    (code, path, args) => source.report(code, path, args),
    (code, path, args) => warnings.push(source.issue(code, path, args)),
  );
  if (source.issues.length > 0) throw new ConfigError(source.issues, warnings);

  const dir = options.dir ?? process.cwd();
  return Object.freeze({
    file,
    dir,
    server: {
      ...doc.server,
      max_inflight_bytes_per_peer: inflightPerPeerBytes,
      max_connections_per_address: doc.server.max_connections_per_address ?? defaultPerAddress(doc.server.max_connections),
    },
    log: doc.log,
    admin: doc.admin,
    plugins: { dir: resolve(dir, doc.plugins.dir) },
    sources,
    queue: { ...doc.queue, dir: resolve(dir, doc.queue.dir) },
    dead_letters: { ...doc.dead_letters, max_bytes: doc.dead_letters.max_bytes ?? Math.floor(doc.queue.max_bytes / 4) },
    history: { ...doc.history, max_bytes: doc.history.max_bytes ?? Math.min(268_435_456, Math.floor(doc.queue.max_bytes / 4)) },
    sinks,
    routes,
    router,
    disabledSinks,
    warnings,
  });
}

interface RawConfig {
  server: Omit<RelayConfig['server'], 'max_inflight_bytes_per_peer' | 'max_connections_per_address'> & {
    max_inflight_bytes_per_peer?: number;
    max_connections_per_address?: number;
  };
  log: RelayConfig['log'];
  admin: { token: string };
  plugins: { dir: string };
  sources: Record<
    string,
    { path: string; secrets?: string[]; auth: string | { header?: string; query?: string; tokens: string[] }; dedupe: DedupeMode | boolean }
  >;
  queue: RelayConfig['queue'];
  dead_letters: Omit<RelayConfig['dead_letters'], 'max_bytes'> & { max_bytes?: number };
  history: RelayConfig['history'];
  sinks: Record<
    string,
    Record<string, unknown> & {
      type: string;
      enabled: boolean | '';
      retry: RetryConfig;
      batch_max_events?: number;
      batch_max_bytes: number;
      batch_linger_ms: number;
      write_timeout_ms: number;
      max_in_flight?: number;
      rate_limit?: { per_second: number; burst?: number };
      max_pending_bytes: number;
      when_full: 'dead_letter' | 'reject';
    }
  >;
  routes: Array<{ name: string; match: MatchConfig; to: string[] }>;
}

/** Secrets emptied by an unset `${VAR:-}` are dropped; none left is an error naming VAR. */
function nonEmpty(
  source: YamlSource,
  values: readonly string[] | undefined,
  path: KeyPath,
  uses: VariableUses,
  what: string,
): string[] {
  const kept = (values ?? []).filter((v) => v !== '');
  if (kept.length > 0) return kept;
  const prefix = path.map(String).join('.');
  const variables = [...uses.entries()].filter(([at]) => at.startsWith(prefix)).flatMap(([, names]) => names);
  const advice = variables.length
    ? `set ${[...new Set(variables)].join(' or ')}`
    : `add one under ${String(path[path.length - 1])}`;
  source.report('RELAY_ERR_CONFIG_NO_SECRET', path, [`expected at least one ${what}, got none: ${advice}`]);
  return [];
}

/** Where an unset variable does not stop a command that does not serve. */
function ingressSecretsMayBeUnset(): UnsetAllowance {
  return {
    allowed: (path) => path[0] === 'sources' && (path[2] === 'secrets' || path[2] === 'auth'),
    tolerated: [],
  };
}

function checkSources(
  source: YamlSource,
  doc: RawConfig,
  uses: VariableUses,
  warnings: ConfigIssue[],
  secretsOptional: boolean,
): SourceConfig[] {
  const secretsOf = (values: readonly string[] | undefined, path: KeyPath, what: string): string[] =>
    secretsOptional ? (values ?? []).filter((v) => v !== '') : nonEmpty(source, values, path, uses, what);
  const byPath = new Map<string, string>();
  return Object.entries(doc.sources).map(([name, raw]) => {
    const base = ['sources', name];
    const taken = byPath.get(raw.path);
    if (taken) {
      source.report('RELAY_ERR_CONFIG_DUPLICATE', [...base, 'path'], [`path ${raw.path} is already the path of source "${taken}"`]);
    }
    byPath.set(raw.path, name);
    if (RESERVED_PATHS.some((p) => raw.path === p || raw.path.startsWith(`${p}/`))) {
      source.report('RELAY_ERR_CONFIG_INVALID', [...base, 'path'], [
        `expected a path other than the relay's own (${RESERVED_PATHS.join(', ')}), got ${raw.path}`,
      ]);
    }
    let auth: SourceAuth;
    if (raw.auth === 'none') auth = { kind: 'none' };
    else if (typeof raw.auth === 'string') {
      auth = { kind: 'signature', secrets: secretsOf(raw.secrets, [...base, 'secrets'], 'signing secret') };
    } else {
      const tokens = secretsOf(raw.auth.tokens, [...base, 'auth', 'tokens'], 'token');
      checkTokenAuth(source, base, { secrets: raw.secrets, auth: raw.auth }, warnings);
      const { header, query } = raw.auth;
      if (header === undefined && query === undefined) {
        source.report('RELAY_ERR_CONFIG_INVALID', [...base, 'auth'], [
          'expected a `header` or a `query` parameter to read the token from, got neither',
        ]);
      }
      auth = { kind: 'token', ...(header !== undefined && { header: header.toLowerCase() }), ...(query !== undefined && { query }), tokens };
    }
    return { name, path: raw.path, auth, dedupe: dedupeMode(source, raw.dedupe, [...base, 'dedupe'], warnings) };
  });
}

/** `true` predates the modes; it now means `webhook_id`, which no longer hashes bodies. */
function dedupeMode(source: YamlSource, value: DedupeMode | boolean, path: KeyPath, warnings: ConfigIssue[]): DedupeMode {
  if (value === true) {
    warnings.push(
      source.issue('RELAY_ERR_CONFIG_DEPRECATED', path, [
        'expected webhook_id, body or none, got true (deprecated): read as webhook_id, so webhooks without a webhookId are no longer deduplicated by their body; write `body` to keep that',
      ]),
    );
    return 'webhook_id';
  }
  return value === false ? 'none' : value;
}

/** For each sink, the `retry:` keys written in the file (before schema defaults fill the rest). */
function retryKeysWritten(raw: unknown): Map<string, Set<string>> {
  const written = new Map<string, Set<string>>();
  const sinks = (raw as { sinks?: unknown } | null)?.sinks;
  if (typeof sinks !== 'object' || sinks === null) return written;
  for (const [name, sink] of Object.entries(sinks)) {
    const retry = (sink as { retry?: unknown } | null)?.retry;
    written.set(name, new Set(typeof retry === 'object' && retry !== null ? Object.keys(retry) : []));
  }
  return written;
}

/** Default per-event concurrency when neither the file nor the sink type gives one. */
const DEFAULT_MAX_IN_FLIGHT = 8;
/** Default events per write when neither the file nor the sink type gives one. */
const DEFAULT_BATCH_MAX_EVENTS = 100;

/** Framework-run settings: the file's keys, else the sink type's defaults. */
function deliverySettings(
  raw: RawConfig['sinks'][string],
  definition: SinkDefinition<unknown> | undefined,
): Pick<SinkConfig, 'batch_max_events' | 'max_in_flight' | 'rate_limit' | 'max_pending_bytes' | 'when_full'> {
  const defaults = definition?.deliveryDefaults;
  const rate = raw.rate_limit ?? defaults?.rate_limit;
  return {
    batch_max_events: raw.batch_max_events ?? defaults?.batch_max_events ?? DEFAULT_BATCH_MAX_EVENTS,
    max_in_flight: raw.max_in_flight ?? defaults?.max_in_flight ?? DEFAULT_MAX_IN_FLIGHT,
    // A burst of one second's worth unless given.
    rate_limit: rate ? { per_second: rate.per_second, burst: rate.burst ?? Math.max(1, Math.ceil(rate.per_second)) } : null,
    max_pending_bytes: raw.max_pending_bytes,
    when_full: raw.when_full,
  };
}

function checkSinks(source: YamlSource, doc: RawConfig, registry: SinkRegistry, writtenRetryKeys: Map<string, Set<string>>, context: SinkCheckContext): SinkConfig[] {
  return Object.entries(doc.sinks).map(([name, raw]) => {
    const options = optionsOf(raw);
    // Switched off: its options may be left unset (e.g. a webhook URL from an unset variable).
    const definition = raw.enabled === true ? checkSinkOptions(source, name, raw.type, options, registry, context) : registry.get(raw.type);
    const written = writtenRetryKeys.get(name) ?? new Set<string>();
    const defaults = Object.entries(definition?.retryDefaults ?? {}).filter(([key]) => !written.has(key));
    return {
      name,
      type: raw.type,
      retry: { ...raw.retry, ...Object.fromEntries(defaults) },
      batch_max_bytes: raw.batch_max_bytes,
      batch_linger_ms: raw.batch_linger_ms,
      write_timeout_ms: raw.write_timeout_ms,
      ...deliverySettings(raw, definition),
      options,
    };
  });
}

function checkRoutes(
  source: YamlSource,
  doc: RawConfig,
  sources: readonly SourceConfig[],
  warnings: ConfigIssue[],
): RouteConfig[] {
  const sinkNames = Object.keys(doc.sinks);
  const sourceNames = sources.map((s) => s.name);
  const routeNames = new Map<string, number>();
  const used = new Set<string>();
  doc.routes.forEach((route, r) => {
    const earlier = routeNames.get(route.name);
    if (earlier !== undefined) {
      source.report('RELAY_ERR_CONFIG_DUPLICATE', ['routes', r, 'name'], [`route name "${route.name}" is already used by routes[${earlier}]`]);
    } else routeNames.set(route.name, r);
    checkRouteReferences(source, route, r, sinkNames, sourceNames);
    const listed = new Set<string>();
    route.to.forEach((sink, i) => {
      if (sinkNames.includes(sink) && listed.has(sink)) {
        source.report('RELAY_ERR_CONFIG_DUPLICATE', ['routes', r, 'to', i], [`sink "${sink}" is listed twice`]);
      }
      listed.add(sink);
      used.add(sink);
    });
  });
  for (const name of sinkNames) {
    // A disabled sink receives nothing on purpose: no warning that it does.
    if (!used.has(name) && doc.sinks[name]?.enabled === true) {
      warnings.push(source.issue('RELAY_ERR_CONFIG_INVALID', ['sinks', name], [`sink "${name}" is named by no route: it receives nothing`], { key: true }));
    }
  }
  return doc.routes.map((route) => ({ name: route.name, match: route.match, to: route.to }));
}

/** An eighth of max_connections, but at least 64 (a Firecrawl behind one NAT keeps many), and never more than the total. */
function defaultPerAddress(maxConnections: number): number {
  return Math.min(maxConnections, Math.max(64, Math.floor(maxConnections / 8)));
}
