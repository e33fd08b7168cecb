import pg from 'pg';
import { explicitSslMode } from './ssl.js';

export interface PgConnectOptions {
  url: string;
  /** Tables live in this schema (created if missing); `public` otherwise, never the server's search_path. */
  schema?: string | undefined;
  /** Connections this relay opens at most (the LISTEN connection is one more). */
  maxConnections?: number;
  /** Longest a statement or a connection attempt may take before it fails (default 5 s). */
  queryTimeoutMs?: number;
}

export const DEFAULT_QUERY_TIMEOUT_MS = 5_000;
/** Where the tables live without `queue.schema`. */
export const DEFAULT_SCHEMA = 'public';

/** bigint (int8) columns hold ids, times in ms and byte counts: all far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * How long the server lets one of our sessions sit idle inside a transaction before it ends
 * the session (and its locks). Our transactions never wait on anything but PostgreSQL, so only
 * a replica that froze (SIGSTOP, a stalled VM) holds one open that long; below the statement
 * deadline, so a healthy replica queued on its rows is answered within its own deadline.
 */
export function idleInTransactionMs(timeout: number): number {
  return Math.max(500, Math.floor(timeout / 2));
}

/** Longest a statement waits for a row lock: after a frozen peer's locks are gone, before the deadline. */
export function lockTimeoutMs(timeout: number): number {
  return Math.max(idleInTransactionMs(timeout) + 250, Math.floor((timeout * 4) / 5));
}

/** What a connection is set up with: the schema first on the path, and commits that wait for the WAL flush. */
export function clientConfig(options: PgConnectOptions): pg.ClientConfig {
  const timeout = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  const settings = [
    '-c synchronous_commit=on',
    `-c idle_in_transaction_session_timeout=${idleInTransactionMs(timeout)}`,
    `-c lock_timeout=${lockTimeoutMs(timeout)}`,
  ];
  // Pinned even without `schema:`: the server's default ("$user", public) would switch every
  // replica to a schema named after the role the day one appears. The backslash keeps a
  // space inside the value when the server splits `options`.
  settings.push(`-c search_path=${quoteIdentifier(options.schema ?? DEFAULT_SCHEMA).replace(/ /g, '\\ ')}`);
  return {
    connectionString: explicitSslMode(options.url),
    options: settings.join(' '),
    types,
    // A server that hangs (stopped, partitioned) answers nothing: every statement gets a
    // deadline on both sides (query_timeout here, statement_timeout there) and keepalive
    // probes start early, so a webhook gets a 503 instead of waiting with the connection.
    keepAlive: true,
    keepAliveInitialDelayMillis: 5_000,
    query_timeout: timeout,
    statement_timeout: timeout,
    connectionTimeoutMillis: timeout,
    application_name: 'firecrawl-relay',
  };
}

export function createPool(options: PgConnectOptions): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(options), max: options.maxConnections ?? 10, idleTimeoutMillis: 30_000 });
  // A connection that breaks (server restart) must not crash the process, idle in the pool
  // or checked out between two statements: the statement in flight fails, the pool drops
  // the connection, and the store reports itself not ready until a query succeeds again.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/**
 * A fixed-text statement prepared once per connection: after the first run PostgreSQL
 * skips parsing and planning it. For the statements that run per claim, settle and commit.
 */
export function prepared<R extends pg.QueryResultRow = pg.QueryResultRow>(
  db: pg.PoolClient | pg.Pool,
  name: string,
  text: string,
  values: unknown[],
): Promise<pg.QueryResult<R>> {
  return db.query<R>({ name: `relay_${name}`, text, values });
}

/** Deadlock and serialization failures: the transaction did nothing and can simply run again. */
const RETRYABLE = new Set(['40P01', '40001']);

export interface TransactionOptions<T> {
  /** false: commit without waiting for the WAL flush. */
  durable?: boolean;
  /**
   * Started on the same connection once committed (a NOTIFY outside the transaction) and not
   * waited for: the transaction's caller is answered when COMMIT returns. Its failure is
   * swallowed (polling covers a lost wake-up); the connection goes back to the pool after it.
   */
  afterCommit?: (client: pg.PoolClient, result: T) => Promise<void>;
  /** Once aborted, the transaction rolls back instead of sending COMMIT. */
  abandon?: AbortSignal;
  /** Each statement's limit, on both sides, instead of the connection's (a group of large bodies). */
  statementMs?: number;
}

/** The client with every query given `ms` as its client-side timeout. */
function boundedClient(client: pg.PoolClient, ms: number): pg.PoolClient {
  const query = (config: string | pg.QueryConfig, values?: unknown[]) =>
    client.query({ ...(typeof config === 'string' ? { text: config, values } : config), query_timeout: ms } as pg.QueryConfig);
  return new Proxy(client, { get: (target, key) => (key === 'query' ? query : Reflect.get(target, key)) });
}

/**
 * Runs `work` in one transaction on one connection. `durable: false` commits without
 * waiting for the WAL flush: for claims, settles and lease renewals, whose loss in a crash
 * of PostgreSQL only means a lane is claimed again and its events delivered twice.
 */
export async function transaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  { durable = true, afterCommit, abandon, statementMs }: TransactionOptions<T> = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let broken: Error | undefined;
    let releaseAfter: Promise<void> | undefined;
    try {
      await client.query(durable ? 'BEGIN' : 'BEGIN; SET LOCAL synchronous_commit = off');
      if (statementMs !== undefined) await client.query(`SET LOCAL statement_timeout = ${Math.ceil(statementMs)}`);
      const result = await work(statementMs === undefined ? client : boundedClient(client, Math.ceil(statementMs)));
      // Its caller stopped waiting (and answered 503): what was not committed must not be.
      abandon?.throwIfAborted();
      await client.query('COMMIT');
      // Best effort on the same connection (no second checkout), not awaited: what is committed
      // is answered now, even if the server stalls on the NOTIFY; its failure undoes nothing.
      if (afterCommit) releaseAfter = afterCommit(client, result).catch(() => undefined);
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      const code = (err as { code?: string }).code;
      if (!broken && code && RETRYABLE.has(code) && attempt < 5) continue;
      throw err;
    } finally {
      // A connection that failed its ROLLBACK is dropped, not returned to the pool; one still
      // sending its post-commit NOTIFY goes back once that is done (pool.end() waits for it).
      if (releaseAfter) void releaseAfter.then(() => client.release());
      else client.release(broken);
    }
  }
}
