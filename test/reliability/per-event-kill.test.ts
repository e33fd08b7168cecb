import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeWithPostgres, startPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { kill, startRelayProcess, type RelayProcess } from '../helpers/process.js';
import { startReceiver } from '../helpers/receiver.js';
import { SECRET, tempDir } from '../helpers/relay.js';
import { until } from '../helpers/sinks.js';
import { postSigned } from '../helpers/webhooks.js';

type Arrival = { job: string; n: number };
const JOBS = ['job-a', 'job-b'];
const PER_JOB = 40;

function event(job: string, n: number): string {
  return JSON.stringify({ success: true, type: 'crawl.page', id: job, data: [{ markdown: `# ${job} ${n}` }], metadata: { n } });
}

/**
 * A per-event sink (webhook) with lanes claimed many events at a time, killed with SIGKILL
 * in the middle of its lanes. Each delivered event is settled before the next is written, so
 * after the restart a lane repeats at most the one event that was in flight at the kill, not
 * what the lane had delivered of its claim.
 */
function killMidLane(queue: (dir: string) => Promise<string>): void {
  let dir: string;
  let cleanup: () => void;
  let relay: RelayProcess | undefined;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  afterEach(async () => {
    if (relay && relay.child.exitCode === null && relay.child.signalCode === null) await kill(relay);
    relay = undefined;
    await receiver?.close();
    cleanup?.();
  });

  it('repeats at most the event in flight per lane, and every acked event arrives in order', async () => {
    ({ dir, cleanup } = tempDir('relay-lane-kill-'));
    const arrivals: Arrival[] = [];
    let open!: () => void;
    const sent = new Promise<void>((resolve) => (open = resolve));
    let killAt = Infinity;
    receiver = await startReceiver((req, res, count) => {
      const body = JSON.parse(req.body.toString()) as { id: string; metadata: { n: number } };
      arrivals.push({ job: body.id, n: body.metadata.n });
      // Killed while this write is in flight: the relay never hears the answer.
      if (count === killAt) return void relay!.child.kill('SIGKILL');
      // Held until every event is acked, so the lanes are claimed many events at a time.
      void sent.then(() => setTimeout(() => res.end('ok'), 2));
    });
    const config = join(dir, 'relay.config.yaml');
    writeFileSync(
      config,
      `
server: { port: 0 }
sources:
  firecrawl: { path: /webhooks/firecrawl, secrets: ["${SECRET}"] }
queue: ${await queue(dir)}
sinks:
  hook: { type: webhook, url: "${receiver.url}/hook", batch_max_events: 100, max_in_flight: 2, retry: { initial_delay_ms: 50, max_delay_ms: 200 } }
routes: [{ name: all, to: [hook] }]
`,
    );
    const env = { FIRECRAWL_WEBHOOK_SECRET: SECRET, RELAY_LOG_LEVEL: 'info' };
    relay = await startRelayProcess(config, env);
    const acked: Arrival[] = [];
    await Promise.all(
      JOBS.map(async (job) => {
        for (let n = 0; n < PER_JOB; n++) if ((await postSigned(relay!.url, event(job, n))) === 200) acked.push({ job, n });
      }),
    );
    expect(acked).toHaveLength(JOBS.length * PER_JOB);
    // Well into the lanes' second claims (the first took what had arrived when the first event came).
    killAt = receiver.requests.length + 30;
    open();
    expect((await relay.exited).signal).toBe('SIGKILL');
    const beforeKill = arrivals.length;

    relay = await startRelayProcess(config, env);
    const unique = (): number => new Set(arrivals.map((a) => `${a.job}/${a.n}`)).size;
    await until(() => unique() === acked.length, 60_000, 50);

    for (const job of JOBS) {
      const mine = arrivals.filter((a) => a.job === job).map((a) => a.n);
      const firstSeen = mine.filter((n, i) => mine.indexOf(n) === i);
      expect(firstSeen, job).toEqual([...Array(PER_JOB).keys()]);
      // Deliveries of the lane repeated after the restart: the one in flight at the kill at most.
      expect(mine.length - firstSeen.length, `${job} repeats (${beforeKill} arrived before the kill)`).toBeLessThanOrEqual(1);
    }
  }, 120_000);
}

describe('a per-event sink killed mid-lane (SQLite)', () => {
  killMidLane(async (dir) => `{ dir: "${join(dir, 'queue')}" }`);
});

describeWithPostgres('a per-event sink killed mid-lane (PostgreSQL)', () => {
  let cluster: PostgresCluster;
  let databases = 0;
  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(() => cluster?.destroy());
  killMidLane(async () => `{ store: postgres, url: "${await cluster.createDatabase(`lane_kill_${++databases}`)}", lease_ms: 1500 }`);
});
