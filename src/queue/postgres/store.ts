import { randomUUID } from 'node:crypto';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { hostname } from 'node:os';
import pg from 'pg';
import { RelayError, describeError } from '../../errors.js';
import type {
  ClaimLimits,
  ClaimedLane,
  EnqueueItem,
  EnqueueResult,
  HistoryOptions,
  LaneSettlement,
  QueueStore,
  SinkCounters,
  SinkLimit,
  StoredDelivery,
} from '../store.js';
import { claimLanes, readDeliveries } from './claim.js';
import { CounterDeltas, CounterSnapshot } from './counters.js';
import { PgDeadLetters } from './dead-letters.js';
import { PgHistory } from './history.js';
import { GroupCommit } from './group-commit.js';
import { commitEnqueue, type Outcome } from './enqueue.js';
import { LeaseKeeper } from './leases.js';
import { migrate } from './migrations.js';
import { DeadlinePassed, commitReserveMs, deadlineGroups, ingressDeadlineMs, withDeadline } from './deadline.js';
import { describePostgres } from '../describe-queue.js';
import { DEFAULT_QUERY_TIMEOUT_MS, clientConfig, createPool, prepared, transaction, type PgConnectOptions } from './pool.js';
import { checkPrivileges } from './privileges.js';
import { sslFailure, sslModeOf } from './ssl.js';
import { PARK_CHUNK, parkSink, settleLanes } from './settle.js';
import { Wakeups, channelFor } from './wakeups.js';

export interface PostgresStoreOptions extends PgConnectOptions {
  maxBytes: number;
  dedupeWindowSeconds: number;
  /** How long a claimed lane stays this replica's without a renewal (default 30 s). */
  leaseMs?: number;
  /** Counters re-read from the database this often (default 1 s); also the health probe. */
  refreshMs?: number;
  pollMs?: { listening: number; deaf: number };
  /** Names this replica in leases (default host:pid:random). */
  owner?: string;
  /** Off (events go once delivered, no attempts kept) unless given. */
  history?: HistoryOptions;
  /** Whether opening may migrate the shared schema (default true; `openStore` allows it for `serve` only). */
  migrate?: boolean;
  /** Told when another replica is migrating and this one waits for it. */
  onMigrationWait?: () => void;
  now?: () => number;
}

interface Waiter {
  item: EnqueueItem;
  /** performance.now() when asked: each request's deadline runs from there, not from its group's start. */
  arrivedAt: number;
  resolve: (result: EnqueueResult) => void;
  reject: (error: unknown) => void;
}

interface Settling {
  outcomes: readonly LaneSettlement[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * PostgreSQL refused what was sent (SQLSTATE class 22, data exception: a NUL in text, a
 * value out of range), not a failure of the server: the group can be retried item by item.
 */
function refusedData(err: unknown): boolean {
  return err instanceof pg.DatabaseError && typeof err.code === 'string' && err.code.startsWith('22');
}

/**
 * Migrates on a connection of its own without the webhook deadlines: waiting for another
 * replica's migration, or running a long step, is not a database that hangs. Connecting is
 * still bounded (a server that does not answer at all). Then checks the role's rights.
 */
async function migrateOnce(options: PostgresStoreOptions): Promise<void> {
  const { query_timeout: _q, statement_timeout: _s, ...config } = clientConfig(options);
  const client = new pg.Client(config);
  client.on('error', () => undefined);
  await client.connect();
  try {
    await migrate(client, options.schema, describePostgres(options), {
      allowed: options.migrate ?? true,
      ...(options.onMigrationWait ? { onWait: options.onMigrationWait } : {}),
    });
    await checkPrivileges(client, options.schema, describePostgres(options));
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The deliveries found, up to the first one gone meanwhile (a parked sink): order is never skipped over. */
function prefixPresent(ids: readonly number[], rows: ReadonlyMap<number, StoredDelivery>): StoredDelivery[] {
  const found: StoredDelivery[] = [];
  for (const id of ids) {
    const row = rows.get(id);
    if (!row) break;
    found.push(row);
  }
  return found;
}

/**
 * The queue in PostgreSQL, shared by every replica pointed at the same database and
 * schema. Ingress commits in groups (one transaction per event-loop turn, acked after
 * COMMIT with synchronous_commit on); lanes are claimed with FOR UPDATE SKIP LOCKED under a
 * lease (owner, expiry, token) renewed while writes run; settles are fenced by the token.
 */
export class PostgresQueueStore implements QueueStore {
  readonly deadLetters: PgDeadLetters;
  readonly history: PgHistory;
  private readonly pool: pg.Pool;
  private readonly now: () => number;
  private readonly owner: string;
  private readonly leaseMs: number;
  private readonly channel: string;
  private readonly snapshot = new CounterSnapshot();
  private readonly leases: LeaseKeeper;
  private readonly wakeups: Wakeups;
  private readonly listeners = new Set<(sinks: ReadonlySet<string>) => void>();
  private readonly refreshTimer: NodeJS.Timeout;
  private limits: ReadonlyMap<string, SinkLimit> = new Map();
  private readonly enqueues = new GroupCommit<Waiter>((group) => this.commitEnqueues(group));
  private readonly settles = new GroupCommit<Settling>((group) => this.commitSettles(group));
  private closed = false;
  private failure: string | null = null;
  /** Why the last enqueue commit failed; null once a write succeeds (a commit, or the probe at refresh). */
  private commitFailure: string | null = null;
  /** Enqueue transactions committed: fewer than events when group commit works. */
  commits = 0;

  private constructor(
    private readonly options: PostgresStoreOptions,
    pool: pg.Pool,
  ) {
    this.pool = pool;
    this.now = options.now ?? Date.now;
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.channel = channelFor(options.schema);
    this.history = new PgHistory({
      pool,
      options: options.history ?? { retentionMs: 0, maxBytes: 0 },
      now: this.now,
      historyBytes: () => this.snapshot.historyBytes(),
      committed: (deltas, wake) => this.committed(deltas, wake),
      notify: (client, sinks) => this.notifyIn(client, sinks),
    });
    this.deadLetters = new PgDeadLetters(
      pool,
      this.now,
      (deltas, wake) => this.committed(deltas, wake),
      (client, sinks) => this.notifyIn(client, sinks),
      () => this.historyKeepAfter(),
    );
    this.leases = new LeaseKeeper(pool, this.leaseMs, this.now, this.owner);
    this.wakeups = new Wakeups({
      config: clientConfig(options),
      channel: this.channel,
      replica: this.owner,
      wake: (sinks) => this.emit(sinks),
      poll: () => this.emitPending(),
      ...(options.pollMs ? { pollMs: options.pollMs } : {}),
    });
    this.refreshTimer = setInterval(() => void this.refresh(), options.refreshMs ?? 1_000);
    this.refreshTimer.unref();
  }

  /** Connects, creates the schema if needed and migrates it (refusing a newer one), reads the counters. */
  static async open(options: PostgresStoreOptions): Promise<PostgresQueueStore> {
    const pool = createPool(options);
    try {
      await migrateOnce(options);
      const store = new PostgresQueueStore(options, pool);
      await store.snapshot.refresh(pool);
      store.wakeups.start();
      return store;
    } catch (err) {
      await pool.end().catch(() => undefined);
      if (err instanceof RelayError) throw err;
      // The server answered (a wrong password, no such database, no rights): say what it said.
      if (err instanceof pg.DatabaseError) {
        throw new RelayError('RELAY_ERR_QUEUE_REFUSED', [describePostgres(options), err.message, err.code ?? 'unknown'], { cause: err });
      }
      const sslmode = sslModeOf(options.url);
      if (sslmode !== null && sslFailure(err)) {
        throw new RelayError('RELAY_ERR_QUEUE_SSL', [describePostgres(options), sslmode, describeError(err)], { cause: err });
      }
      // Named, so that `serve` says which database did not answer rather than `connect ECONNREFUSED`.
      throw new RelayError('RELAY_ERR_QUEUE_UNREACHABLE', [describePostgres(options), describeError(err), options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS], {
        cause: err,
      });
    }
  }

  onEnqueued(listener: (sinks: ReadonlySet<string>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(sinks: ReadonlySet<string>): void {
    if (sinks.size > 0) for (const listener of this.listeners) listener(sinks);
  }

  /** The polling fallback: every sink with deliveries pending, as far as we know. */
  private emitPending(): void {
    const sinks = new Set<string>();
    for (const [sink, c] of this.snapshot.get()) if (c.pending > 0) sinks.add(sink);
    this.emit(sinks);
  }

  /** After a commit of ours: counters seen at once, sinks given work woken here (the others heard NOTIFY). */
  private committed(deltas: CounterDeltas, wake: ReadonlySet<string>): void {
    this.snapshot.apply(deltas, this.now());
    this.emit(wake);
  }

  /** NOTIFY on this connection: inside a transaction it is delivered only if that commits. */
  private async notifyIn(client: pg.PoolClient, sinks: ReadonlySet<string>): Promise<void> {
    await client.query('SELECT pg_notify($1, $2)', [this.channel, Wakeups.payload(this.owner, sinks)]);
  }

  /** NOTIFY on its own, for lanes given back: best effort, polling covers a loss. */
  private async notify(sinks: ReadonlySet<string>): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [this.channel, Wakeups.payload(this.owner, sinks)]).catch(() => undefined);
  }

  private async refresh(): Promise<void> {
    try {
      await this.snapshot.refresh(this.pool);
      this.failure = null;
      if (this.commitFailure !== null) await this.probeWrite();
    } catch (err) {
      this.failure = describeError(err);
    }
  }

  /** After a failed commit, with no webhook coming to show it: a durable write of one row, removed at once. */
  private async probeWrite(): Promise<void> {
    // Not a key a webhook makes (those are "<source>:..."): removed at once either way.
    const key = `relay write probe ${this.owner}`;
    await transaction(
      this.pool,
      async (client) => {
        await client.query('INSERT INTO dedupe (key, seen_at) VALUES ($1, 0) ON CONFLICT (key) DO NOTHING', [key]);
        await client.query('DELETE FROM dedupe WHERE key = $1', [key]);
      },
      { durable: true },
    ).then(
      () => (this.commitFailure = null),
      (err: unknown) => (this.commitFailure = describeError(err)),
    );
  }

  enqueue(item: EnqueueItem): Promise<EnqueueResult> {
    if (this.closed) return Promise.reject(new RelayError('RELAY_ERR_QUEUE_UNAVAILABLE', ['the queue is closed']));
    return new Promise((resolve, reject) => this.enqueues.add({ item, arrivedAt: performance.now(), resolve, reject }));
  }

  /**
   * When a group must be answered by: from its earliest request's arrival, the base deadline
   * plus time for the group's bytes. A group that formed behind a stuck one is therefore not
   * given a fresh deadline of its own: no request waits much longer than its bound. Groups are
   * cut by deadlineGroups, so the bytes are a large body's own or at most 8 MiB of small ones.
   */
  private groupDeadline(batch: readonly Waiter[]): number {
    const bytes = batch.reduce((sum, w) => sum + w.item.body.length, 0);
    const base = this.options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    return Math.min(...batch.map((w) => w.arrivedAt)) + ingressDeadlineMs(base, bytes);
  }

  private async commitEnqueues(batch: readonly Waiter[]): Promise<void> {
    // A small webhook does not share a transaction (and its deadline) with a large body.
    const groups = deadlineGroups(batch, (w) => w.item.body.length);
    if (groups.length > 1) {
      for (const group of groups) await this.commitEnqueues(group);
      return;
    }
    let used = this.snapshot.usedBytes();
    // Kept history never turns a webhook away: it gives way first, oldest first (as on SQLite).
    // A failure to drop it is the commit's to report, below.
    while (used >= this.options.maxBytes && this.history.enabled && (await this.history.dropOldest().catch(() => 0)) > 0) {
      used = this.snapshot.usedBytes();
    }
    if (used >= this.options.maxBytes) {
      const error = new RelayError('RELAY_ERR_QUEUE_FULL', [used, this.options.maxBytes]);
      for (const waiter of batch) waiter.reject(error);
      return;
    }
    let committed: { outcomes: Outcome[]; deltas: CounterDeltas; touched: Set<string> };
    const base = this.options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
    const left = this.groupDeadline(batch) - performance.now();
    // Past the point where COMMIT could still be sent in time, the group rolls back: a request
    // answered 503 was then not stored. Only a COMMIT already sent can be applied unanswered.
    const abandon = new AbortController();
    const cutoff = setTimeout(() => abandon.abort(new DeadlinePassed('the commit to PostgreSQL', left)), Math.max(0, left - commitReserveMs(base)));
    try {
      if (left <= commitReserveMs(base)) throw new DeadlinePassed('the commit to PostgreSQL (queued behind a stuck one)', left);
      const commit = transaction(this.pool, async (client) => {
        const result = await commitEnqueue(
          client,
          batch.map((w) => w.item),
          {
            now: this.now(),
            dedupeWindowMs: this.options.dedupeWindowSeconds * 1000,
            limits: this.limits,
            pendingBytes: (sink) => this.snapshot.pendingBytes(sink),
            usedBytes: used,
            maxBytes: this.options.maxBytes,
            keepUnrouted: this.history.enabled,
          },
        );
        return result;
      }, {
        // NOTIFY after COMMIT, not in it: a notifying commit holds a cluster-wide lock through
        // its WAL flush, which would serialize every replica's ingress. Not waited for: the
        // group is answered once COMMIT returns. Polling covers a lost one.
        afterCommit: async (client, result) => {
          if (result.touched.size > 0) await this.notifyIn(client, result.touched);
        },
        abandon: abandon.signal,
        statementMs: left,
      });
      committed = await withDeadline(commit, left, 'the commit to PostgreSQL');
      this.commits++;
      this.failure = null;
      this.commitFailure = null;
    } catch (err) {
      if (batch.length > 1 && refusedData(err)) {
        // One item PostgreSQL refuses (a NUL in a text field) must not fail its neighbours: each alone.
        for (const waiter of batch) await this.commitEnqueues([waiter]);
        return;
      }
      if (!refusedData(err)) {
        this.failure = describeError(err);
        this.commitFailure = this.failure;
      }
      // Senders get a stable reason; the server's own words stay in the log (the cause).
      const reason = err instanceof DeadlinePassed ? 'the queue database did not answer in time' : 'the queue database is unavailable';
      const error = new RelayError('RELAY_ERR_QUEUE_UNAVAILABLE', [reason], { cause: err });
      for (const waiter of batch) waiter.reject(error);
      return;
    } finally {
      clearTimeout(cutoff);
    }
    batch.forEach((waiter, i) => {
      const outcome = committed.outcomes[i]!;
      if ('error' in outcome) waiter.reject(outcome.error);
      else waiter.resolve(outcome.result);
    });
    this.committed(committed.deltas, committed.touched);
  }

  async claim(sink: string, limits: ClaimLimits): Promise<ClaimedLane[]> {
    const claimedAt = performance.now();
    const taken = await transaction(
      this.pool,
      (client) => claimLanes(client, sink, limits, { owner: this.owner, now: this.now(), leaseMs: this.leaseMs }),
      { durable: false },
    );
    if (taken.length === 0) return [];
    for (const lane of taken) this.leases.hold(lane.token, sink, claimedAt);
    try {
      const rows = await readDeliveries(this.pool, taken.flatMap((t) => t.ids));
      return taken.map((t) => ({
        sink,
        jobId: t.jobId,
        token: t.token,
        deliveries: prefixPresent(t.ids, rows),
      }));
    } catch (err) {
      for (const lane of taken) this.leases.release(lane.token);
      throw err;
    }
  }

  /**
   * Settles are grouped like enqueues: lanes settled in one event-loop turn (a per-event
   * sink finishes many lanes at once) share one transaction. Each caller learns the group's fate.
   */
  settle(outcomes: readonly LaneSettlement[]): Promise<void> {
    if (outcomes.length === 0) return Promise.resolve();
    // Whatever happens to the settle, these leases are no longer renewed: at worst they run out.
    // A held lane is still being written: its lease goes on.
    for (const o of outcomes) if (!o.hold) this.leases.release(o.lane.token);
    return new Promise((resolve, reject) => this.settles.add({ outcomes, resolve, reject }));
  }

  private async commitSettles(group: readonly Settling[]): Promise<void> {
    try {
      const outcomes = group.flatMap((g) => g.outcomes);
      const { deltas, givenBack } = await transaction(this.pool, (client) => settleLanes(client, outcomes, this.now(), { enabled: this.history.enabled, keepAfter: this.historyKeepAfter() }), { durable: false });
      this.snapshot.apply(deltas, this.now());
      if (givenBack.length > 0) void this.notify(new Set(givenBack));
      for (const g of group) g.resolve();
    } catch (err) {
      for (const g of group) g.reject(err);
    }
  }

  leaseLost(lane: ClaimedLane): boolean {
    return this.leases.isLost(lane.token);
  }

  async nextDueAt(sink: string): Promise<number | null> {
    const row = await prepared<{ at: number | null }>(this.pool, 'next_due', 'SELECT min(ready_at) AS at FROM lanes WHERE sink = $1 AND ready_at > $2', [
      sink,
      this.now(),
    ]);
    return row.rows[0]?.at ?? null;
  }

  setSinkLimits(limits: ReadonlyMap<string, SinkLimit>): void {
    this.limits = limits;
  }

  /** Events received after this stay for history once nothing refers to them (retention 0: none stay). */
  private historyKeepAfter(): number {
    return this.history.enabled ? this.history.cutoff() : Number.MAX_SAFE_INTEGER;
  }

  async pausedSinks(): Promise<Set<string>> {
    const rows = await this.pool.query<{ sink: string }>('SELECT sink FROM paused_sinks');
    return new Set(rows.rows.map((r) => r.sink));
  }

  async setPaused(sink: string, paused: boolean): Promise<void> {
    if (paused) await this.pool.query('INSERT INTO paused_sinks (sink, paused_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [sink, this.now()]);
    else await this.pool.query('DELETE FROM paused_sinks WHERE sink = $1', [sink]);
  }

  async parkSinksExcept(keep: ReadonlySet<string>, reason: (sink: string) => string): Promise<Map<string, number>> {
    const sinks = (await this.pool.query<{ sink: string }>('SELECT DISTINCT sink FROM lanes')).rows
      .map((r) => r.sink)
      .filter((sink) => !keep.has(sink))
      .sort();
    const parked = new Map<string, number>();
    for (const sink of sinks) {
      // Chunks of the oldest deliveries, one transaction each with a turn of the event loop
      // between: no transaction holds 100k rows. The last one takes the lanes (first: the
      // lock order of every other transaction) with whatever an enqueue added meanwhile.
      const step = async (last: boolean): Promise<number> => {
        const now = this.now();
        const deltas = new CounterDeltas();
        const n = await transaction(this.pool, async (client) => {
          if (last) await client.query('DELETE FROM lanes WHERE sink = $1', [sink]);
          const dead = await client.query<{ n: number; bytes: number | null }>(parkSink(last), [sink, now, reason(sink)]);
          const { n, bytes } = dead.rows[0]!;
          deltas.add(sink, -n, -(bytes ?? 0), n);
          await deltas.write(client);
          return n;
        });
        this.snapshot.apply(deltas, now);
        return n;
      };
      let count = 0;
      for (;;) {
        const n = await step(false);
        count += n;
        if (n < PARK_CHUNK) break;
        await setImmediatePromise();
      }
      count += await step(true);
      if (count > 0) parked.set(sink, count);
    }
    return parked;
  }

  counters(): ReadonlyMap<string, SinkCounters> {
    return this.snapshot.get();
  }

  usedBytes(): number {
    return this.snapshot.usedBytes();
  }

  writable(): { ready: boolean; error: string | null } {
    if (this.closed) return { ready: false, error: 'the queue is closed' };
    if (this.failure) return { ready: false, error: `PostgreSQL is unavailable: ${this.failure}` };
    if (this.commitFailure) return { ready: false, error: `the last commit failed: ${this.commitFailure}` };
    const used = this.usedBytes();
    return used < this.options.maxBytes ? { ready: true, error: null } : { ready: false, error: `the queue is full (${used} of ${this.options.maxBytes} bytes)` };
  }

  async pruneDedupe(): Promise<number> {
    const result = await this.pool.query('DELETE FROM dedupe WHERE seen_at < $1', [this.now() - this.options.dedupeWindowSeconds * 1000]);
    return result.rowCount ?? 0;
  }

  /** Whether this replica hears other replicas' NOTIFY (false: it polls). */
  listening(): boolean {
    return this.wakeups.isListening();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.enqueues.idle();
    await this.settles.idle();
    this.closed = true;
    clearInterval(this.refreshTimer);
    this.leases.close();
    await this.wakeups.close();
    await this.pool.end();
  }
}
