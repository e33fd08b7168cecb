import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { encodePathSegment, PermanentError, type BatchSink, type RelayEvent } from '../../plugin-api/index.js';
import type { Relay } from '../../relay.js';
import { configYaml, tempDir, testConfig, testRelay } from '../../../test/helpers/relay.js';
import { until } from '../../../test/helpers/sinks.js';
import { relayEvent, sampleEvent, signedRequest } from '../../../test/helpers/webhooks.js';
import fileSink from './index.js';

let dir: string;
let cleanup: () => void;
let relay: Relay;

beforeEach(async () => {
  ({ dir, cleanup } = tempDir());
  const config = testConfig(
    configYaml(
      dir,
      `
sinks:
  archive: { type: file, dir: ${join(dir, 'out')} }
routes:
  - { name: all, match: {}, to: [archive] }
`,
    ),
  );
  relay = await testRelay(config);
  relay.startDelivery();
});

afterEach(async () => {
  await relay.close();
  cleanup();
});

const lines = (): Array<Record<string, any>> => {
  const file = join(dir, 'out', 'events.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
};

describe('file sink', () => {
  it('writes a markdown file per page with front matter, and a JSON line per event', async () => {
    const event = sampleEvent('crawl.page', { id: 'job-42' });
    expect((await relay.app.inject(signedRequest(event))).statusCode).toBe(200);
    await until(() => lines().length === 1);
    const page = readFileSync(join(dir, 'out', 'pages', 'crawl', 'job-42', '550e8400-e29b-41d4-a716-446655440001.md'), 'utf8');
    expect(page).toBe(`---
url: https://example.com/page
title: Page Title
description: Page description
status_code: 200
scrape_id: 550e8400-e29b-41d4-a716-446655440001
job_id: job-42
event_type: crawl.page
success: true
scraped_at: 2025-09-03T21:11:25.636Z
---

# Page content...
`);
    const [line] = lines();
    expect(line).toMatchObject({ type: 'crawl.page', id: 'job-42', _relay: { source: 'firecrawl' } });
    expect(line!.data[0].markdown).toBe('# Page content...');
  });

  it('writes a failed page from what it has instead of skipping it', async () => {
    const event = sampleEvent('batch_scrape.page', {
      id: 'job-7',
      success: false,
      error: 'timeout',
      data: [{ metadata: { url: 'https://example.com/slow', statusCode: 504, error: 'Page load timed out' } }],
    });
    await relay.app.inject(signedRequest(event));
    await until(() => lines().length === 1);
    const folder = join(dir, 'out', 'pages', 'batch_scrape', 'job-7');
    const [file] = readdirSync(folder);
    const text = readFileSync(join(folder, file!), 'utf8');
    expect(text).toContain('url: https://example.com/slow');
    expect(text).toContain('status_code: 504');
    expect(text).toContain('success: false');
    expect(text).toContain('_No markdown: Page load timed out_');
  });

  it('quotes front matter values that would break YAML', async () => {
    const event = sampleEvent('crawl.page', {
      id: 'job-q',
      data: [{ markdown: 'x', metadata: { url: 'https://e.com/a', title: 'Title: with "quotes"\n---\nand a fence', scrapeId: 's1' } }],
    });
    await relay.app.inject(signedRequest(event));
    await until(() => lines().length === 1);
    const text = readFileSync(join(dir, 'out', 'pages', 'crawl', 'job-q', 's1.md'), 'utf8');
    const front = text.split('\n---\n')[0]!;
    expect(front.match(/^---$/gm)).toEqual(['---']);
    expect(text.endsWith('\n\nx\n')).toBe(true);
  });

  it('writes the received bytes to events.jsonl: 1e999 and integers beyond 2^53 keep every digit', async () => {
    const body = '{"success":true,"type":"crawl.completed","id":"job-n",\n "data":[],"metadata":{"huge":1e999,"big":12345678901234567890123}}';
    expect((await relay.app.inject(signedRequest(body))).statusCode).toBe(200);
    await until(() => lines().length === 1);
    const text = readFileSync(join(dir, 'out', 'events.jsonl'), 'utf8');
    expect(text).toContain('"metadata":{"huge":1e999,"big":12345678901234567890123},"_relay":{');
    expect(text.split('\n')).toHaveLength(2);
    expect(lines()[0]).toMatchObject({ id: 'job-n', _relay: { source: 'firecrawl' } });
  });

  it('keeps a path-traversing job id inside its folder', async () => {
    await relay.app.inject(signedRequest(sampleEvent('crawl.page', { id: '../../../etc' })));
    await until(() => lines().length === 1);
    expect(readdirSync(join(dir, 'out', 'pages', 'crawl'))).toEqual(['%2E.%2F..%2F..%2Fetc']);
  });

  it('gives ids that differ only outside ASCII, and the ids "." and "..", folders of their own', async () => {
    const ids = ['j-uni-é😀', 'j-uni-ü😀', 'j-uni-__', '.', '..'];
    for (const id of ids) {
      const event = sampleEvent('crawl.page', { id, data: [{ markdown: `page of ${id}`, metadata: { url: 'https://e.com/a', scrapeId: 's1' } }] });
      expect((await relay.app.inject(signedRequest(event))).statusCode).toBe(200);
    }
    await until(() => lines().length === ids.length);
    const folders = readdirSync(join(dir, 'out', 'pages', 'crawl')).sort();
    expect(folders).toEqual(['%2E', '%2E.', 'j-uni-%C3%A9%F0%9F%98%80', 'j-uni-%C3%BC%F0%9F%98%80', 'j-uni-__']);
    for (const [i, id] of ids.entries()) {
      expect(readFileSync(join(dir, 'out', 'pages', 'crawl', encodePathSegment(id), 's1.md'), 'utf8')).toContain(`page of ${ids[i]}`);
    }
  });

  it('writes no hidden page file for scrape ids "." and "..", and hashes a name too long for the file system', async () => {
    const long = 'é'.repeat(400);
    const event = sampleEvent('crawl.page', {
      id: long,
      data: ['.', '..', `${long}x`].map((scrapeId) => ({ markdown: scrapeId, metadata: { url: 'https://e.com/a', scrapeId } })),
    });
    expect((await relay.app.inject(signedRequest(event))).statusCode).toBe(200);
    await until(() => lines().length === 1);
    const [folder] = readdirSync(join(dir, 'out', 'pages', 'crawl'));
    expect(folder).toMatch(/~[0-9a-f]{32}$/);
    const files = readdirSync(join(dir, 'out', 'pages', 'crawl', folder!)).sort();
    expect(files.some((f) => f.startsWith('.'))).toBe(false);
    expect(files).toHaveLength(3);
    expect(files.slice(0, 2)).toEqual(['%2E..md', '%2E.md']);
  });
});

describe('file sink bound on pages per event', () => {
  it('dead-letters an event over max_pages_per_event without writing any of its pages, and writes the rest of the batch', async () => {
    const out = join(dir, 'bounded');
    const sink = (await fileSink.create(
      { dir: out, jsonl: 'events.jsonl', markdown: true, max_pages_per_event: 3 },
      { name: 'archive', logger: pino({ level: 'silent' }), configDir: dir },
    )) as BatchSink;
    await sink.connect?.(new AbortController().signal);
    const pages = (id: string, count: number) =>
      relayEvent({ success: true, type: 'crawl.page', id, data: Array.from({ length: count }, (_, i) => ({ markdown: `p${i}`, metadata: { url: `https://e.com/${i}`, scrapeId: `s${i}` } })) });
    const result = await sink.write([pages('too-many', 4), pages('fits', 3)], new AbortController().signal);
    expect(result?.failed.map((f) => [f.index, (f.error as Error).message, f.error instanceof PermanentError])).toEqual([
      [0, 'event has 4 elements of data, over max_pages_per_event (3)', true],
    ]);
    expect(readdirSync(join(out, 'pages', 'crawl'))).toEqual(['fits']);
    expect(readFileSync(join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).id)).toEqual(['fits']);
  });
});

describe('file sink, one batch', () => {
  const eventOf = (jobId: string, scrapeId: string, n: number): RelayEvent => {
    const payload = sampleEvent('crawl.page', { id: jobId, data: [{ markdown: `page ${n}`, metadata: { url: 'https://e.com/', scrapeId } }] });
    return { deliveryId: String(n), eventId: String(n), source: 'firecrawl', receivedAt: new Date(0), attempt: 1, type: 'crawl.page', jobId, success: true, payload: payload as never, raw: Buffer.from(JSON.stringify(payload)) };
  };
  const create = async (out: string) =>
    (await fileSink.create({ dir: out, jsonl: 'events.jsonl', markdown: true, max_pages_per_event: 10_000 }, { name: 'archive', logger: pino({ level: 'silent' }), configDir: '/' })) as BatchSink;

  it('fails only the event that cannot be written, and leaves out the later events of its job (issue item 2)', async () => {
    const out = join(dir, 'batch');
    const sink = (await fileSink.create(
      { dir: out, jsonl: 'events.jsonl', markdown: true, max_pages_per_event: 1 },
      { name: 'archive', logger: pino({ level: 'silent' }), configDir: '/' },
    )) as BatchSink;
    await sink.connect?.(new AbortController().signal);
    const twoPages = eventOf('bad', 's2', 2);
    (twoPages.payload.data as unknown[]).push({ markdown: 'page 2b', metadata: { url: 'https://e.com/b', scrapeId: 's2b' } });
    // A scrape id past the file system's name limit no longer fails: it gets its hashed form.
    const longName = eventOf('j1', 'x'.repeat(300), 1);
    const batch = [longName, twoPages, eventOf('bad', 's3', 3), eventOf('j2', 's4', 4), eventOf('j3', 's5', 5)];
    const result = await sink.write(batch, new AbortController().signal);
    // The later event of its job is listed too (the plugin contract; else the relay warned RELAY_ERR_SINK_ORDER_BROKEN).
    expect(result?.failed.map((f) => f.index)).toEqual([1, 2]);
    expect(String((result!.failed[0]!.error as Error).message)).toBe('event has 2 elements of data, over max_pages_per_event (1)');
    expect(String((result!.failed[1]!.error as Error).message)).toBe('not written: event 1 of job bad in this batch failed first');
    const written = readFileSync(join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { data: Array<{ markdown: string }> }).data[0]!.markdown);
    expect(written).toEqual(['page 1', 'page 4', 'page 5']);
    expect(readdirSync(join(out, 'pages', 'crawl', 'j1'))).toEqual([`${encodePathSegment('x'.repeat(300))}.md`]);
  });

  // Review of issue 12: 1,000 events rendered at once held the event loop ~50 ms (webhook acks waited).
  it('renders a large batch over several turns of the event loop', async () => {
    const out = join(dir, 'turns');
    const sink = await create(out);
    await sink.connect?.(new AbortController().signal);
    const rendered = new Set<number>();
    const batch = Array.from({ length: 1000 }, (_, n) => {
      const event = eventOf(`job-${n % 20}`, `s${n}`, n);
      const { jobId } = event;
      return Object.defineProperty(event, 'jobId', { get: () => (rendered.add(n), jobId) });
    });
    let renderedWhenOtherWorkRan = -1;
    setImmediate(() => (renderedWhenOtherWorkRan = rendered.size));
    await sink.write(batch, new AbortController().signal);
    expect(renderedWhenOtherWorkRan).toBeGreaterThan(0);
    expect(renderedWhenOtherWorkRan).toBeLessThan(1000);
    expect(readFileSync(join(out, 'events.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1000);
  });

  it('honours its abort signal: an aborted write stops and appends no line (issue item 3)', async () => {
    const out = join(dir, 'aborted');
    const sink = await create(out);
    await sink.connect?.(new AbortController().signal);
    const pages = Array.from({ length: 2000 }, (_, i) => ({ markdown: `page ${i}`, metadata: { url: 'https://e.com/', scrapeId: `s${i}` } }));
    const payload = sampleEvent('crawl.completed', { id: 'big', data: pages });
    const big: RelayEvent = { ...eventOf('big', 's', 1), type: 'batch_scrape.completed', payload: payload as never };
    const controller = new AbortController();
    const writing = sink.write([big], controller.signal);
    controller.abort(new Error('write_timeout_ms'));
    await expect(writing).rejects.toThrow();
    expect(existsSync(join(out, 'events.jsonl'))).toBe(false);
    const folder = join(out, 'pages', 'batch_scrape', 'big');
    expect(existsSync(folder) ? readdirSync(folder).length : 0).toBeLessThan(2000);
  });
});

// Issue 12 (shipped config): at 100 events a batch, per-batch round trips starved delivery under an ingress burst.
describe('file sink batch size', () => {
  it('is 1000 events a write by default, the config key wins, and other sink types keep 100', () => {
    const config = testConfig(
      configYaml(
        dir,
        `
sinks:
  archive: { type: file, dir: ${join(dir, 'a')} }
  small: { type: file, dir: ${join(dir, 'b')}, batch_max_events: 50 }
  console: { type: stdout }
routes:
  - { name: all, match: {}, to: [archive, small, console] }
`,
      ),
    );
    expect(config.sinks.map((s) => [s.name, s.batch_max_events])).toEqual([
      ['archive', 1000],
      ['small', 50],
      ['console', 100],
    ]);
  });
});
