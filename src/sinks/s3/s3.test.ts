import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { EventSink, RelayEvent } from '../../plugin-api/index.js';
import type { Relay } from '../../relay.js';
import { configYaml, tempDir, testConfig, testRelay } from '../../../test/helpers/relay.js';
import { describeWithRadosgw, s3ClientFor, startRadosgw, type Radosgw } from '../../../test/helpers/s3.js';
import { until } from '../../../test/helpers/sinks.js';
import { sampleEvent, signedRequest } from '../../../test/helpers/webhooks.js';
import s3Sink from './index.js';
import type { S3SinkOptions } from './options.js';
import { deadLettersOf, pendingOf } from '../../../test/helpers/queue.js';

let rgw: Radosgw;
let s3: S3Client;
let relay: Relay | undefined;
let cleanup = (): void => {};
let bucketSeq = 0;

async function newBucket(): Promise<string> {
  const bucket = `relay-test-${++bucketSeq}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

async function read(bucket: string, key: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return object.Body!.transformToString();
}

async function keys(bucket: string, prefix = ''): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key!).sort();
}

function sinkYaml(bucket: string, extra = ''): string {
  return `
  s3:
    type: s3
    bucket: ${bucket}
    endpoint: ${rgw.endpoint}
    force_path_style: true
    access_key_id: ${rgw.accessKeyId}
    secret_access_key: ${rgw.secretAccessKey}
    retry: { initial_delay_ms: 50, max_attempts: 2, jitter: 0 }
${extra}`;
}

async function startRelay(sinks: string): Promise<Relay> {
  const tmp = tempDir('relay-s3-');
  cleanup = tmp.cleanup;
  relay = await testRelay(testConfig(configYaml(tmp.dir, `\nsinks:${sinks}\nroutes: [{ name: all, to: [s3] }]\n`)));
  relay.startDelivery();
  return relay;
}

const delivered = (r: Relay): boolean => pendingOf(r, 's3') === 0;

/** The one stored event's attempts, as the console shows them: outcome, HTTP status, error. */
async function attemptsOf(r: Relay): Promise<Array<[string, number | null, string | null]>> {
  const [event] = await r.queue.history.list({});
  return (await r.queue.history.get(event!.id))!.attempts.map((a) => [a.outcome, a.statusCode, a.error]);
}

describeWithRadosgw('s3 sink against Ceph radosgw', () => {
  beforeAll(async () => {
    rgw = await startRadosgw();
    s3 = s3ClientFor(rgw);
  }, 120_000);
  afterAll(async () => {
    s3?.destroy();
    await rgw?.stop();
  });
  afterEach(async () => {
    await relay?.close(1000);
    relay = undefined;
    cleanup();
  });

  it('writes one markdown object per page with exact front matter and body, under deterministic keys', async () => {
    const bucket = await newBucket();
    const r = await startRelay(sinkYaml(bucket));
    const event = sampleEvent('crawl.page', {
      id: 'job-1',
      data: [
        { markdown: '# First\n\nBody one.', metadata: { url: 'https://example.com/a', title: 'A: "quoted"', statusCode: 200, scrapeId: 'scrape-a', cachedAt: '2025-09-03T21:11:25.636Z' } },
        { markdown: '# Second', metadata: { url: 'https://example.com/b', title: 'B', statusCode: 404, scrapeId: 'scrape-b', cachedAt: '2025-09-03T21:11:26.000Z' } },
      ],
    });
    expect((await r.app.inject(signedRequest(event))).statusCode).toBe(200);
    await until(() => delivered(r), 20_000);
    expect(await keys(bucket)).toEqual(['crawl/job-1/scrape-a.md', 'crawl/job-1/scrape-b.md']);
    expect(await read(bucket, 'crawl/job-1/scrape-a.md')).toBe(`---
url: https://example.com/a
title: 'A: "quoted"'
status_code: 200
scrape_id: scrape-a
job_id: job-1
event_type: crawl.page
success: true
scraped_at: 2025-09-03T21:11:25.636Z
---

# First

Body one.
`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'crawl/job-1/scrape-b.md' }));
    expect(head.ContentType).toBe('text/markdown; charset=utf-8');
    expect(head.Metadata).toMatchObject({ 'firecrawl-job-id': 'job-1', 'firecrawl-event-type': 'crawl.page', 'firecrawl-url': 'https://example.com/b' });
    expect(await attemptsOf(r)).toEqual([['delivered', 200, null]]);
  });

  it('dumps a lifecycle event as JSON, byte for byte', async () => {
    const bucket = await newBucket();
    const r = await startRelay(sinkYaml(bucket));
    const event = sampleEvent('crawl.completed', { id: 'job-2' });
    await r.app.inject(signedRequest(event));
    await until(() => delivered(r), 20_000);
    const [key] = await keys(bucket);
    expect(key).toMatch(/^crawl\/job-2\/completed-\d+\.json$/);
    expect(await read(bucket, key!)).toBe(JSON.stringify(event));
  });

  it('overwrites the same object when a delivery is retried', async () => {
    const bucket = await newBucket();
    const options = {
      bucket,
      endpoint: rgw.endpoint,
      force_path_style: true,
      access_key_id: rgw.accessKeyId,
      secret_access_key: rgw.secretAccessKey,
      key: '{{type_group}}/{{id}}/{{page_key}}.md',
      event_key: '{{type_group}}/{{id}}/{{type_name}}-{{delivery_id}}.json',
      format: 'markdown',
      region: 'us-east-1',
      metadata: {},
      request_timeout_ms: 30_000,
      max_pages_per_event: 10_000,
    } satisfies S3SinkOptions;
    const sink = await s3Sink.create(options, { name: 's3', logger: pino({ level: 'silent' }), configDir: '/' });
    const eventWith = (markdown: string, attempt: number): RelayEvent => {
      const payload = sampleEvent('batch_scrape.page', { id: 'job-3', data: [{ markdown, metadata: { url: 'https://e.com/x', scrapeId: 's-x' } }] });
      return { deliveryId: '41', eventId: '7', source: 'firecrawl', receivedAt: new Date(), attempt, type: 'batch_scrape.page', jobId: 'job-3', success: true, payload: payload as never, raw: Buffer.from(JSON.stringify(payload)) };
    };
    const deliver = (sink as EventSink).deliver;
    await deliver(eventWith('first try', 1), new AbortController().signal);
    await deliver(eventWith('second try', 2), new AbortController().signal);
    expect(await keys(bucket)).toEqual(['batch_scrape/job-3/s-x.md']);
    expect(await read(bucket, 'batch_scrape/job-3/s-x.md')).toMatch(/\n\nsecond try\n$/);
    await sink.close?.();
  });

  it('stores a 10 MB page intact', async () => {
    const bucket = await newBucket();
    const r = await startRelay(sinkYaml(bucket));
    const markdown = `# Big\n\n${'0123456789abcdef'.repeat(10 * 65_536)}`;
    const event = sampleEvent('crawl.page', { id: 'job-big', data: [{ markdown, metadata: { url: 'https://e.com/big', scrapeId: 'big' } }] });
    expect((await r.app.inject(signedRequest(event))).statusCode).toBe(200);
    await until(() => delivered(r), 60_000, 100);
    const body = await read(bucket, 'crawl/job-big/big.md');
    expect(body.length).toBeGreaterThan(10 * 1024 * 1024);
    expect(body.endsWith(`${markdown}\n`)).toBe(true);
  });

  it('encodes non-ASCII metadata instead of failing', async () => {
    const bucket = await newBucket();
    const r = await startRelay(sinkYaml(bucket, '    metadata: { team: "{{metadata.team}}" }'));
    const event = sampleEvent('crawl.page', {
      id: 'job-é',
      metadata: { team: 'équipe données' },
      data: [{ markdown: 'x', metadata: { url: 'https://e.com/café', scrapeId: 's1' } }],
    });
    await r.app.inject(signedRequest(event));
    await until(() => delivered(r), 20_000);
    const [key] = await keys(bucket);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key! }));
    expect(head.Metadata).toMatchObject({
      team: encodeURIComponent('équipe données'),
      'firecrawl-job-id': encodeURIComponent('job-é'),
      'firecrawl-url': encodeURIComponent('https://e.com/café'),
    });
  });

  it('dead-letters a markdown event over max_pages_per_event with its count, writes none of its pages, and delivers the next', async () => {
    const bucket = await newBucket();
    const r = await startRelay(sinkYaml(bucket, '    max_pages_per_event: 2\n'));
    const pages = (id: string, n: number) =>
      sampleEvent('crawl.page', { id, data: Array.from({ length: n }, (_, i) => ({ markdown: `# ${i}`, metadata: { url: `https://e.com/${i}`, scrapeId: `s${i}` } })) });
    expect((await r.app.inject(signedRequest(pages('job-many', 3)))).statusCode).toBe(200);
    await until(async () => (await deadLettersOf(r)).length === 1, 20_000);
    const [letter] = await deadLettersOf(r);
    expect(letter).toMatchObject({ sink: 's3', jobId: 'job-many', attempts: 1, lastError: 'event has 3 elements of data, over max_pages_per_event (2)' });
    expect((await r.app.inject(signedRequest(pages('job-two', 2)))).statusCode).toBe(200);
    await until(() => delivered(r), 20_000);
    expect(await keys(bucket)).toEqual(['crawl/job-two/s0.md', 'crawl/job-two/s1.md']);
  });

  it('dead-letters deliveries to a missing bucket with a clear error, and keeps running', async () => {
    const r = await startRelay(sinkYaml('no-such-bucket'));
    await r.app.inject(signedRequest(sampleEvent('crawl.page', { id: 'job-lost' })));
    await until(async () => (await deadLettersOf(r)).length === 1, 20_000);
    const [letter] = await deadLettersOf(r);
    expect(letter).toMatchObject({ sink: 's3', jobId: 'job-lost', attempts: 1 });
    expect(letter!.lastError).toMatch(/^bucket "no-such-bucket" does not exist: S3 NoSuchBucket \(HTTP 404\)/);
    expect(await attemptsOf(r)).toEqual([['dead_lettered', 404, letter!.lastError]]);
    expect((await r.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await r.app.inject(signedRequest(sampleEvent('crawl.completed', { id: 'job-next' })))).statusCode).toBe(200);
  });
});
