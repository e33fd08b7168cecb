import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Relay } from '../../src/relay.js';
import { describeWithPostgres, startPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { startReceiver } from '../helpers/receiver.js';
import { SECOND_SECRET, SECRET, tempDir, testConfig, testRelay } from '../helpers/relay.js';
import { until } from '../helpers/sinks.js';
import { sampleEvent, signedRequest } from '../helpers/webhooks.js';

const TOKEN = 'admin-token-for-postgres-tests-0123';
const auth = { authorization: `Bearer ${TOKEN}` };

/** The admin API's flows on a PostgreSQL queue shared by two relays: what one accepted, the other shows. */
describeWithPostgres('admin API on PostgreSQL', () => {
  let cluster: PostgresCluster;
  let relays: Relay[] = [];
  let refuse = true;
  const cleanups: Array<() => void | Promise<void>> = [];

  beforeAll(async () => {
    cluster = await startPostgres();
    const receiver = await startReceiver((_request, response) => {
      response.statusCode = refuse ? 410 : 200;
      response.end(refuse ? 'gone' : 'ok');
    });
    const tmp = tempDir('relay-admin-pg-');
    cleanups.push(tmp.cleanup, receiver.close);
    const url = await cluster.createDatabase('admin_api');
    const yaml = `
admin: { token: ${TOKEN} }
sources:
  firecrawl: { path: /webhooks/firecrawl, secrets: ["${SECRET}", "${SECOND_SECRET}"] }
queue: { store: postgres, url: "${url}" }
sinks:
  archive: { type: file, dir: "${join(tmp.dir, 'out')}" }
  hook: { type: webhook, url: "${receiver.url}/hook", signature: { scheme: none }, retry: { initial_delay_ms: 50, max_attempts: 2 } }
routes:
  - { name: pages, match: { type: crawl.page }, to: [archive] }
  - { name: completions, match: { type: crawl.completed }, to: [hook] }
`;
    relays = [await testRelay(testConfig(yaml)), await testRelay(testConfig(yaml))];
    for (const relay of relays) await relay.startDelivery();
  }, 120_000);

  afterAll(async () => {
    for (const relay of relays) await relay.close(1000);
    for (const cleanup of cleanups.reverse()) await cleanup();
    await cluster?.destroy();
  });

  const get = async (relay: Relay, url: string) => (await relay.app.inject({ method: 'GET', url, headers: auth })).json();
  const post = async (relay: Relay, url: string, payload?: Record<string, unknown>) =>
    relay.app.inject({ method: 'POST', url, headers: auth, ...(payload ? { payload } : {}) });

  it('lists events (delivered and unrouted) with routing and attempts, and counts received per type alike on every replica', async () => {
    const [a, b] = relays as [Relay, Relay];
    expect((await a.app.inject(signedRequest(sampleEvent('crawl.page', { id: 'job-pg-page' })))).statusCode).toBe(200);
    expect((await a.app.inject(signedRequest(sampleEvent('crawl.started', { id: 'job-pg-none' })))).statusCode).toBe(200);
    await until(async () => (await get(b, '/admin/events?job=job-pg-page')).events[0]?.sinks.archive === 'delivered');

    const unrouted = (await get(b, '/admin/events?outcome=unrouted')).events;
    expect(unrouted.map((e: { job_id: string; outcome: string }) => [e.job_id, e.outcome])).toEqual([['job-pg-none', 'unrouted']]);
    const [page] = (await get(b, '/admin/events?job=job-pg-page')).events;
    const detail = await get(b, `/admin/events/${page.id}`);
    expect(detail.routing.map((r: { route: string; matched: boolean }) => [r.route, r.matched])).toEqual([['pages', true], ['completions', false]]);
    expect(detail.attempts.map((t: { sink: string; outcome: string }) => [t.sink, t.outcome])).toEqual([['archive', 'delivered']]);

    // Both replicas read the counts from the store: the one that received nothing shows them too.
    const counts = await Promise.all(relays.map(async (r) => (await get(r, '/admin/overview')).received_by_type));
    expect(counts[1]).toEqual(counts[0]);
    expect(counts[1]).toMatchObject({ 'crawl.page': 1, 'crawl.started': 1 });
  });

  it('pauses and resumes a sink for every replica, sends a test event, replays a dead letter', async () => {
    const [a, b] = relays as [Relay, Relay];
    expect((await post(a, '/admin/sinks/archive/pause')).json()).toEqual({ sink: 'archive', paused: true });
    await until(async () => (await get(b, '/admin/sinks')).sinks.find((s: { name: string }) => s.name === 'archive').state === 'paused');
    expect((await post(b, '/admin/sinks/archive/resume')).json()).toEqual({ sink: 'archive', paused: false });

    const sent = (await post(b, '/admin/test-event', { type: 'crawl.page' })).json();
    expect(sent.sinks).toEqual(['archive']);
    await until(async () => (await get(a, `/admin/events/${sent.event_id}/attempts`)).sinks.archive === 'delivered', 20_000);

    expect((await a.app.inject(signedRequest(sampleEvent('crawl.completed', { id: 'job-pg-dead' })))).statusCode).toBe(200);
    await until(async () => (await get(b, '/admin/dead-letters?job=job-pg-dead')).count === 1, 20_000);
    refuse = false;
    expect((await post(b, '/admin/dead-letters/replay', { job: 'job-pg-dead' })).json()).toEqual({ replayed: 1 });
    await until(async () => (await get(a, '/admin/events?job=job-pg-dead')).events[0]?.sinks.hook === 'delivered', 20_000);
    expect((await get(a, '/admin/dead-letters?job=job-pg-dead')).count).toBe(0);
  });
});
