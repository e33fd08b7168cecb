import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeWithPostgres, startPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { kill, startRelayProcess, type RelayProcess } from '../helpers/process.js';
import { startReceiver } from '../helpers/receiver.js';
import { SECRET, tempDir } from '../helpers/relay.js';
import { until } from '../helpers/sinks.js';
import { signedRequest } from '../helpers/webhooks.js';

type Acked = { job: string; n: number };

function event(job: string, n: number): string {
  return JSON.stringify({ success: true, type: 'crawl.page', id: job, data: [{ markdown: `# ${job} ${n}` }], metadata: { n } });
}

/** Posts one signed event; the status, or 0 when the relay could not be reached. */
async function post(url: string, body: string): Promise<{ status: number; retryAfter: string | undefined }> {
  const { headers, payload } = signedRequest(body, SECRET);
  try {
    const response = await request(`${url}/webhooks/firecrawl`, { method: 'POST', headers, body: payload, headersTimeout: 20_000 });
    await response.body.dump();
    return { status: response.statusCode, retryAfter: response.headers['retry-after'] as string | undefined };
  } catch {
    return { status: 0, retryAfter: undefined };
  }
}

/**
 * Per (sink, job): every acked event arrived, and the first arrival of each came after the
 * first arrival of every earlier one (duplicates, from a lease lost mid-write, are allowed).
 */
function checkArrivals(acked: readonly Acked[], arrivals: ReadonlyArray<{ sink: string } & Acked>, sinks: readonly string[]) {
  const missing: string[] = [];
  const outOfOrder: string[] = [];
  for (const sink of sinks) {
    const firstSeen = new Map<string, number[]>();
    const seen = new Set<string>();
    for (const a of arrivals) {
      if (a.sink !== sink || seen.has(`${a.job}/${a.n}`)) continue;
      seen.add(`${a.job}/${a.n}`);
      firstSeen.set(a.job, [...(firstSeen.get(a.job) ?? []), a.n]);
    }
    for (const { job, n } of acked) if (!seen.has(`${job}/${n}`)) missing.push(`${sink} ${job}/${n}`);
    for (const [job, ns] of firstSeen) if (ns.some((n, i) => n !== i)) outOfOrder.push(`${sink} ${job}: ${ns.join(',')}`);
  }
  return { missing, outOfOrder, duplicates: arrivals.length - acked.length * sinks.length };
}

describeWithPostgres('several relays on one PostgreSQL queue', () => {
  let cluster: PostgresCluster;
  let databases = 0;
  let dir: string;
  let cleanup: () => void;
  const relays: RelayProcess[] = [];
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const arrivals: Array<{ sink: string } & Acked> = [];

  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(() => cluster?.destroy());
  afterEach(async () => {
    for (const relay of relays.splice(0)) if (relay.child.exitCode === null && relay.child.signalCode === null) await kill(relay);
    await receiver?.close();
    cleanup?.();
    arrivals.length = 0;
  });

  /** A receiver for both webhook sinks, answering after a short random delay so writes overlap the kills. */
  async function setUp(): Promise<string> {
    ({ dir, cleanup } = tempDir('relay-scale-'));
    receiver = await startReceiver((req, res) => {
      const body = JSON.parse(req.body.toString()) as { id: string; metadata: { n: number } };
      arrivals.push({ sink: req.url.slice(1), job: body.id, n: body.metadata.n });
      setTimeout(() => res.end('ok'), Math.random() * 5);
    });
    const url = await cluster.createDatabase(`scale_${++databases}`);
    const config = join(dir, 'relay.config.yaml');
    writeFileSync(
      config,
      `
server: { port: 0 }
sources:
  firecrawl: { path: /webhooks/firecrawl, secrets: ["${SECRET}"] }
queue: { store: postgres, url: "${url}", lease_ms: 3000 }
sinks:
  a: { type: webhook, url: "${receiver.url}/a", retry: { initial_delay_ms: 50, max_delay_ms: 200 } }
  b: { type: webhook, url: "${receiver.url}/b", retry: { initial_delay_ms: 50, max_delay_ms: 200 } }
routes: [{ name: all, to: [a, b] }]
`,
    );
    return config;
  }

  const start = (config: string): Promise<RelayProcess> =>
    startRelayProcess(config, { FIRECRAWL_WEBHOOK_SECRET: SECRET, RELAY_LOG_LEVEL: 'info' });

  /**
   * One sender per job, its events in order: event n goes to the next relay round-robin,
   * and to the one after if that relay is down or answers 503 (as a load balancer would
   * retry), until one acks it.
   */
  function send(jobs: number, perJob: number, onAck: (count: number) => Promise<void> | void, statuses: number[] = []) {
    const acked: Acked[] = [];
    const done = Promise.all(
      Array.from({ length: jobs }, async (_, j) => {
        const job = `job-${j}`;
        for (let n = 0; n < perJob; n++) {
          for (let attempt = 0; ; attempt++) {
            const relay = relays[(j + n + attempt) % relays.length]!;
            const { status } = await post(relay.url, event(job, n));
            statuses.push(status);
            if (status === 200) break;
            await new Promise((r) => setTimeout(r, 20));
          }
          acked.push({ job, n });
          await onAck(acked.length);
        }
      }),
    );
    return { acked, done };
  }

  it('delivers every acked event in per-job order while one relay is SIGKILLed and another restarted', async () => {
    const config = await setUp();
    relays.push(...(await Promise.all([start(config), start(config), start(config)])));
    let killed: Promise<unknown> | null = null;
    let restarted: Promise<unknown> | null = null;
    const { acked, done } = send(30, 12, (count) => {
      // At a third of the run relay 0 dies at once; at two thirds relay 1 is restarted (SIGTERM, drain, start).
      if (count === 120) killed = kill(relays[0]!, 'SIGKILL');
      if (count === 240) {
        restarted = (async () => {
          await kill(relays[1]!, 'SIGTERM');
          relays[1] = await start(config);
        })();
      }
    });
    await done;
    await killed;
    await restarted;
    expect(acked).toHaveLength(360);
    // Relay 0's leased lanes come back after its 3 s lease; the others deliver them.
    await until(() => checkArrivals(acked, arrivals, ['a', 'b']).missing.length === 0, 60_000, 200);
    const { missing, outOfOrder, duplicates } = checkArrivals(acked, arrivals, ['a', 'b']);
    expect(missing).toEqual([]);
    expect(outOfOrder).toEqual([]);
    console.log(`scale-out: 360 events x 2 sinks over 3 relays, one SIGKILLed, one restarted: ${duplicates} delivered twice`);
  }, 180_000);

  it('answers 503 with Retry-After while PostgreSQL is down, loses nothing acked, and resumes by itself', async () => {
    const config = await setUp();
    relays.push(...(await Promise.all([start(config), start(config)])));
    const statuses: number[] = [];
    let outage: Promise<void> | null = null;
    const { acked, done } = send(
      10,
      30,
      async (count) => {
        if (count === 60) outage = cluster.restart();
        if (count === 150) {
          // Stopped long enough to look: webhooks get 503 with Retry-After, /readyz fails.
          await cluster.stop();
          try {
            const refused = await post(relays[0]!.url, event('probe', 0));
            expect(refused).toEqual({ status: 503, retryAfter: '5' });
            await until(async () => (await request(`${relays[1]!.url}/readyz`)).statusCode === 503, 10_000, 100);
          } finally {
            await cluster.start();
          }
        }
      },
      statuses,
    );
    await done;
    await outage;
    expect(acked).toHaveLength(300);
    expect(statuses).toContain(503);
    await until(() => checkArrivals(acked, arrivals, ['a', 'b']).missing.length === 0, 60_000, 200);
    const { missing, outOfOrder } = checkArrivals(acked, arrivals, ['a', 'b']);
    expect(missing).toEqual([]);
    expect(outOfOrder).toEqual([]);
    for (const relay of relays) expect((await request(`${relay.url}/readyz`)).statusCode).toBe(200);
  }, 180_000);

  it('answers 503 with Retry-After and a stable message while PostgreSQL is frozen, not ready, then 200 after SIGCONT', async () => {
    const config = await setUp();
    relays.push(...(await Promise.all([start(config), start(config)])));
    const statuses: number[] = [];
    const { acked, done } = send(
      6,
      20,
      async (count) => {
        if (count !== 40) return;
        // A server that hangs rather than refusing: every backend stopped, connections open.
        cluster.freeze();
        try {
          const { headers, payload } = signedRequest(event('probe', 0), SECRET);
          const refused = await request(`${relays[0]!.url}/webhooks/firecrawl`, { method: 'POST', headers, body: payload, headersTimeout: 60_000 });
          const body = (await refused.body.json()) as { error: { code: string; message: string } };
          expect([refused.statusCode, refused.headers['retry-after']]).toEqual([503, '5']);
          expect(body.error).toEqual({ code: 'RELAY_ERR_QUEUE_UNAVAILABLE', message: expect.stringMatching(/the queue database (did not answer in time|is unavailable)/) });
          await until(async () => (await request(`${relays[1]!.url}/readyz`)).statusCode === 503, 30_000, 100);
        } finally {
          cluster.thaw();
        }
      },
      statuses,
    );
    await done;
    expect(acked).toHaveLength(120);
    await until(() => checkArrivals(acked, arrivals, ['a', 'b']).missing.length === 0, 60_000, 200);
    expect(checkArrivals(acked, arrivals, ['a', 'b']).missing).toEqual([]);
    expect(await post(relays[0]!.url, event('after', 0))).toEqual({ status: 200, retryAfter: undefined });
  }, 180_000);
});
