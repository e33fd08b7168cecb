import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { ConfigError, formatIssue } from '../../config/config-error.js';
import type { Relay } from '../../relay.js';
import { configYaml, tempDir, testConfig, testRelay } from '../../../test/helpers/relay.js';
import { consumeWithKcat, describeWithKafka, startMockCluster, type MockCluster } from '../../../test/helpers/kafka.js';
import { until } from '../../../test/helpers/sinks.js';
import { sampleEvent, signedRequest } from '../../../test/helpers/webhooks.js';
import { pendingOf } from '../../../test/helpers/queue.js';

// Kafka protocol ApiKey of Produce, and retriable error codes it can answer with.
const PRODUCE = 0;
const NOT_LEADER_OR_FOLLOWER = 6;
const REQUEST_TIMED_OUT = 7;

let cluster: MockCluster;
let relay: Relay | undefined;
let cleanup = (): void => {};
let dir: string;
let topicSeq = 0;

async function startRelay(sinkOptions: string, extra = ''): Promise<Relay> {
  const tmp = tempDir('relay-kafka-');
  dir = tmp.dir;
  cleanup = tmp.cleanup;
  const yaml = configYaml(
    dir,
    `
sinks:
  kafka:
    type: kafka
    brokers: [${cluster.brokers.join(', ')}]
    retry: { initial_delay_ms: 100, max_delay_ms: 1000, jitter: 0 }
${sinkOptions
  .split('\n')
  .map((l) => (l ? `    ${l}` : l))
  .join('\n')}
${extra}
`,
  );
  relay = await testRelay(testConfig(yaml));
  relay.startDelivery();
  return relay;
}

const pending = (r: Relay, sink: string): number => pendingOf(r, sink);

async function send(r: Relay, event: Record<string, unknown>): Promise<void> {
  const answer = await r.app.inject(signedRequest(event));
  expect(answer.statusCode, answer.body).toBe(200);
}

/** A crawl of `pages` pages for each job: started, pages, completed, each job in order. */
async function crawl(r: Relay, jobs: string[], pages: number): Promise<void> {
  for (const job of jobs) {
    await send(r, sampleEvent('crawl.started', { id: job }));
    for (let n = 0; n < pages; n++) {
      await send(
        r,
        sampleEvent('crawl.page', {
          id: job,
          data: [{ markdown: `# ${job} page ${n}`, metadata: { url: `https://e.com/${job}/${n}`, scrapeId: `${job}-s${n}`, statusCode: 200 } }],
        }),
      );
    }
    await send(r, sampleEvent('crawl.completed', { id: job }));
  }
}

describeWithKafka('kafka sink against a librdkafka mock cluster', () => {
  beforeAll(async () => {
    cluster = await startMockCluster(3);
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  afterEach(async () => {
    await relay?.close(1000);
    relay = undefined;
    cleanup();
  });

  it('delivers events keyed by job, one partition per job, in per-job order, with headers', async () => {
    const topic = `relay.events.${++topicSeq}`;
    const r = await startRelay(`topic: ${topic}\nheaders: { x-team: "{{metadata.team | none}}" }`, 'routes: [{ name: all, to: [kafka] }]');
    const jobs = ['job-a', 'job-b', 'job-c', 'job-d'];
    await crawl(r, jobs, 5);
    await until(() => pending(r, 'kafka') === 0, 20_000);

    const messages = consumeWithKcat(cluster.brokers, topic);
    expect(messages).toHaveLength(jobs.length * 7);
    for (const job of jobs) {
      const mine = messages.filter((m) => m.key === job);
      expect(new Set(mine.map((m) => m.partition)).size, job).toBe(1);
      const order = mine.map((m) => JSON.parse(m.payload!) as { type: string; data: Array<{ markdown?: string }> });
      expect(order.map((e) => e.type)).toEqual(['crawl.started', ...Array(5).fill('crawl.page'), 'crawl.completed']);
      expect(order.slice(1, 6).map((e) => e.data[0]!.markdown)).toEqual([0, 1, 2, 3, 4].map((n) => `# ${job} page ${n}`));
      expect(mine[0]!.headers).toMatchObject({ 'firecrawl-event-type': 'crawl.started', 'firecrawl-job-id': job, 'x-team': 'none' });
      expect(mine[0]!.headers['relay-delivery-id']).toMatch(/^\d+$/);
    }
    // The value is the webhook as received, byte for byte.
    const first = messages.find((m) => m.key === 'job-a')!;
    expect(first.payload).toBe(JSON.stringify(sampleEvent('crawl.started', { id: 'job-a' })));
  });

  it('routes each type to its own topic from the template, gzip-compressed', async () => {
    const prefix = `relay.t${++topicSeq}`;
    const r = await startRelay(`topic: "${prefix}.{{type}}"\ncompression: gzip`, 'routes: [{ name: all, to: [kafka] }]');
    await crawl(r, ['job-x'], 2);
    await until(() => pending(r, 'kafka') === 0, 20_000);
    expect(consumeWithKcat(cluster.brokers, `${prefix}.crawl.page`)).toHaveLength(2);
    expect(consumeWithKcat(cluster.brokers, `${prefix}.crawl.completed`).map((m) => m.key)).toEqual(['job-x']);
  });

  it('splits data into one message per page, with the envelope around each', async () => {
    const topic = `relay.pages.${++topicSeq}`;
    const r = await startRelay(`topic: ${topic}\nsplit: data\nkey: "{{id}}"\nheaders: { scrape-id: "{{scrapeId | none}}" }`, 'routes: [{ name: all, to: [kafka] }]');
    const pages = [0, 1, 2].map((n) => ({ markdown: `# p${n}`, metadata: { url: `https://e.com/${n}`, scrapeId: `s${n}` } }));
    await send(r, sampleEvent('batch_scrape.page', { id: 'batch-1', data: pages }));
    await send(r, sampleEvent('batch_scrape.completed', { id: 'batch-1' }));
    await until(() => pending(r, 'kafka') === 0, 20_000);
    const messages = consumeWithKcat(cluster.brokers, topic);
    expect(messages.map((m) => m.headers['scrape-id'])).toEqual(['s0', 's1', 's2', 'none']);
    const values = messages.map((m) => JSON.parse(m.payload!) as Record<string, unknown>);
    expect(values[1]).toMatchObject({ type: 'batch_scrape.page', id: 'batch-1', index: 1, data: pages[1] });
    // An event with nothing to split is sent whole.
    expect(values[3]).toMatchObject({ type: 'batch_scrape.completed', data: [] });
  });

  it('keeps events queued while every broker is down, reports the sink not ready, and delivers all once back', async () => {
    const topic = `relay.outage.${++topicSeq}`;
    const r = await startRelay(`topic: ${topic}\nconnection_timeout_ms: 500\nrequest_timeout_ms: 2000`, 'routes: [{ name: all, to: [kafka] }]');
    await crawl(r, ['warmup'], 0);
    await until(() => pending(r, 'kafka') === 0, 20_000);

    await cluster.command('down -1');
    try {
      await crawl(r, ['job-1', 'job-2'], 8);
      await until(() => r.readiness().sinks.kafka?.ready === false, 20_000, 50);
      // The relay still accepts and queues webhooks: it stays ready, and says the sink is down.
      const ready = await r.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json().sinks.kafka.ready).toBe(false);
      expect(pending(r, 'kafka')).toBeGreaterThan(0);
    } finally {
      await cluster.command('up -1');
    }
    await until(() => pending(r, 'kafka') === 0, 30_000, 100);
    expect(r.readiness().sinks.kafka?.ready).toBe(true);

    const messages = consumeWithKcat(cluster.brokers, topic);
    for (const job of ['job-1', 'job-2']) {
      const types = messages.filter((m) => m.key === job).map((m) => (JSON.parse(m.payload!) as { type: string; data: Array<{ markdown?: string }> }));
      // At least once: every event is there; the first copies are in order.
      const firstCopies = [...new Map(types.map((t) => [JSON.stringify(t), t])).values()];
      expect(firstCopies.map((t) => t.type)).toEqual(['crawl.started', ...Array(8).fill('crawl.page'), 'crawl.completed']);
    }
  });

  it('rides out injected retriable produce errors without losing or reordering events', async () => {
    const topic = `relay.errors.${++topicSeq}`;
    const r = await startRelay(`topic: ${topic}`, 'routes: [{ name: all, to: [kafka] }]');
    await crawl(r, ['warm'], 0);
    await until(() => pending(r, 'kafka') === 0, 20_000);
    // More failures in a row than kafkajs retries on its own: the relay's backoff takes over.
    await cluster.command(`errors ${PRODUCE} 12 ${REQUEST_TIMED_OUT}`);
    await cluster.command(`errors ${PRODUCE} 3 ${NOT_LEADER_OR_FOLLOWER}`);
    await crawl(r, ['job-e1', 'job-e2'], 6);
    await until(() => pending(r, 'kafka') === 0, 30_000, 100);
    const retried = (await r.metrics.deliveries.get()).values.find((v) => v.labels.outcome === 'retried')?.value ?? 0;
    expect(retried).toBeGreaterThan(0);
    const messages = consumeWithKcat(cluster.brokers, topic);
    for (const job of ['job-e1', 'job-e2']) {
      const seen = messages.filter((m) => m.key === job).map((m) => m.payload!);
      const distinct = [...new Set(seen)].map((p) => (JSON.parse(p) as { type: string }).type);
      expect(distinct, job).toEqual(['crawl.started', ...Array(6).fill('crawl.page'), 'crawl.completed']);
    }
  });

  it('a Kafka sink that cannot reach its brokers does not delay a file sink on the same route', async () => {
    // A Kafka sink on a port nothing listens on, and a file sink, on one route.
    const tmp = tempDir('relay-kafka-');
    cleanup = tmp.cleanup;
    const archive = join(tmp.dir, 'out');
    const yaml = configYaml(
      tmp.dir,
      `
sinks:
  kafka: { type: kafka, brokers: ["127.0.0.1:1"], connection_timeout_ms: 200, retry: { initial_delay_ms: 100 } }
  archive: { type: file, dir: ${archive}, markdown: false }
routes: [{ name: both, to: [kafka, archive] }]
`,
    );
    relay = await testRelay(testConfig(yaml));
    relay.startDelivery();
    const started = Date.now();
    await crawl(relay, ['job-f'], 10);
    const file = join(archive, 'events.jsonl');
    await until(() => existsSync(file) && readFileSync(file, 'utf8').trim().split('\n').length === 12, 10_000);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(pending(relay, 'kafka')).toBe(12);
    expect(relay.readiness().sinks).toMatchObject({ kafka: { ready: false }, archive: { ready: true } });
  });
});

describeWithKafka('kafka sink templates at load', () => {
  const base = (options: string) =>
    configYaml(
      '/tmp/unused',
      `
sinks:
  kafka:
    type: kafka
    brokers: ["127.0.0.1:9092"]
    ${options}
routes: [{ name: all, to: [kafka] }]
`,
    );

  it.each([
    ['topic: "firecrawl.{{tpye}}"', 'sinks.kafka.topic', /\{\{tpye\}\} can never resolve: unknown variable "tpye"/],
    ['key: "{{scrapeId}}"', 'sinks.kafka.key', /"scrapeId" exists only when each element of data is written apart \(split: data\)/],
    ['headers: { x: "{{metadata.team" }', 'sinks.kafka.headers.x', /expected every "\{\{" closed by "\}\}"/],
    ['topic: "a.{{ type | }}"', 'sinks.kafka.topic', /./],
  ])('rejects %s with file:line', (options, path, message) => {
    let error: unknown;
    try {
      testConfig(base(options));
    } catch (err) {
      error = err;
    }
    if (options.includes('| }}')) {
      // An empty default is allowed: {{type | }} falls back to "".
      expect(error).toBeUndefined();
      return;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issue = (error as ConfigError).issues[0]!;
    expect(issue.code).toBe('RELAY_ERR_CONFIG_SINK_OPTIONS');
    expect(formatIssue(issue)).toMatch(new RegExp(`^relay.config.yaml:\\d+:\\d+ ${path.replace(/\./g, '\\.')}: `));
    expect(issue.line).toBeGreaterThan(8);
    expect(issue.message).toMatch(message);
  });
});
