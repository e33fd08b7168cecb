import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Relay } from '../src/relay.js';
import { capturedLogger } from './helpers/logs.js';
import { captureNames, capturesDir, loadCapture, postRaw, type Capture } from './helpers/captures.js';
import { startReceiver } from './helpers/receiver.js';
import { tempDir, testConfig, testRelay } from './helpers/relay.js';
import { until } from './helpers/sinks.js';
import { storedEvents } from './helpers/queue.js';

/**
 * Replays the requests a real self-hosted Firecrawl (public code of 2025-08) sent: header
 * names, casing and order as recorded, the body byte for byte. That sender signs nothing,
 * sends no webhookId and never retries; v0 jobs post to SELF_HOSTED_WEBHOOK_URL, no headers.
 */
const DIR = capturesDir();
const TOKEN = 'tok-accept-123';

function describeWithCaptures(name: string, body: () => void): void {
  if (!DIR && process.env.CI !== 'true') {
    console.warn(`\n!!! SKIPPED "${name}": no shared/firecrawl-captures beside the repository (or set FIRECRAWL_CAPTURES_DIR; CI never skips)\n`);
    describe.skip(name, body);
    return;
  }
  describe(name, body);
}

/** The same request headers with the Content-Length of another body (for bodies recorded without a request). */
function withBody(capture: Capture, name: string, body: Buffer): Capture {
  const rawHeaders = capture.rawHeaders.map((value, i) =>
    i % 2 === 1 && capture.rawHeaders[i - 1]!.toLowerCase() === 'content-length' ? String(body.length) : value,
  );
  return { ...capture, name, rawHeaders, body };
}

const withToken = (capture: Capture): Capture => ({ ...capture, url: `${capture.url}${capture.url.includes('?') ? '&' : '?'}token=${TOKEN}` });

/** The captures in the order the run sent them; the batch scrape's `started` twice (appendToId). */
function replayed(dir: string): Capture[] {
  const named = (name: string) => loadCapture(dir, name);
  const v0 = named('sample-crawl.completed.v0-selfhosted-url');
  return [
    named('sample-crawl.started.v1'),
    named('sample-crawl.page.v1'),
    named('sample-crawl.page.404.v1'),
    named('sample-crawl.completed.v1'),
    named('sample-crawl.completed.after-cancel.v1'),
    named('sample-batch_scrape.started.v2'),
    named('sample-batch_scrape.page.v2'),
    named('sample-batch_scrape.started.v2'),
    named('sample-batch_scrape.completed.v2'),
    withToken(v0),
    withToken(withBody(v0, 'v0-0052', readFileSync(join(dir, 'v0-0052.body.json')))),
    // Not captured, written as that code writes a v0 page that failed: its Error serialises to {}.
    withToken(withBody(v0, 'v0 failed page', Buffer.from('{"success":false,"type":"crawl.page","jobId":"a7747c4a-5891-486d-8ed0-71da25f86a8c","data":[],"error":{}}'))),
  ];
}

function jobOf(body: Buffer): string {
  const parsed = JSON.parse(body.toString('utf8')) as { id?: string; jobId?: string };
  return (parsed.id ?? parsed.jobId)!;
}

/** Each job's bodies, in the order given. */
function byJob(bodies: Buffer[]): Map<string, string[]> {
  const jobs = new Map<string, string[]>();
  for (const body of bodies) jobs.set(jobOf(body), [...(jobs.get(jobOf(body)) ?? []), body.toString('utf8')]);
  return jobs;
}

/** A source on token auth as that sender needs it (header, or ?token= for v0), the queue in `dir`. */
const tokenAuthConfig = (dir: string, sinksAndRoutes: string): string => `
sources:
  firecrawl:
    path: /webhooks/firecrawl
    auth: { header: X-Relay-Token, query: token, tokens: [${TOKEN}] }
queue: { dir: ${join(dir, 'queue')} }
${sinksAndRoutes}
`;

let relay: Relay | undefined;
let cleanups: Array<() => unknown> = [];

afterEach(async () => {
  await relay?.close(2000);
  relay = undefined;
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function listen(r: Relay): Promise<number> {
  return Number(new URL(await r.listen(0)).port);
}

describeWithCaptures('webhooks captured from a real self-hosted Firecrawl', () => {
  let dir: string;
  beforeAll(() => {
    if (!DIR) throw new Error('shared/firecrawl-captures not found beside the repository: CI never skips this suite');
    dir = DIR;
  });

  it('replays every captured request', () => {
    const names = new Set(replayed(dir).map((c) => c.name));
    expect(captureNames(dir).filter((name) => !names.has(name))).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.startsWith('v0-'))).toEqual(['v0-0051.body.json', 'v0-0052.body.json']);
    // v0-0051 is the body of the v0 request capture, replayed once as that request.
    expect(readFileSync(join(dir, 'v0-0051.body.json'))).toEqual(loadCapture(dir, 'sample-crawl.completed.v0-selfhosted-url').body);
  });

  it('with token auth (header, or ?token= for v0), accepts and delivers each one byte for byte, in order, none taken for a duplicate', async () => {
    const tmp = tempDir('relay-captures-');
    const receiver = await startReceiver();
    cleanups.push(tmp.cleanup, receiver.close);
    const out = join(tmp.dir, 'out');
    const yaml = tokenAuthConfig(
      tmp.dir,
      `sinks:
  archive: { type: file, dir: ${out} }
  forward: { type: webhook, url: "${receiver.url}/hook", max_in_flight: 1 }
routes: [{ name: all, to: [archive, forward] }]`,
    );
    relay = await testRelay(testConfig(yaml));
    const port = await listen(relay);
    const captures = replayed(dir);

    const answers = [];
    for (const capture of captures) answers.push({ name: capture.name, ...(await postRaw(port, capture.url, capture.rawHeaders, capture.body)) });
    for (const answer of answers) {
      expect(answer.status, `${answer.name}: ${answer.body}`).toBe(200);
      expect(JSON.parse(answer.body), answer.name).toMatchObject({ ok: true, duplicate: false, deliveries: 2 });
    }

    // The webhook sink forwards the bytes as received: each job's bodies arrive as sent, in order.
    await until(() => receiver.requests.length === captures.length);
    expect(byJob(receiver.requests.map((r) => r.body))).toEqual(byJob(captures.map((c) => c.body)));
    const started = captures[5]!.body.toString('utf8');
    expect(receiver.requests.filter((r) => r.body.toString('utf8') === started)).toHaveLength(2);

    // The file sink: each JSON line is the body as received plus `_relay` (a v0 line keeps
    // its `jobId`, as sent), each job's lines in the order received.
    const jsonl = join(out, 'events.jsonl');
    await until(() => existsSync(jsonl) && readFileSync(jsonl, 'utf8').split('\n').filter(Boolean).length === captures.length);
    const lines = readFileSync(jsonl, 'utf8').split('\n').filter(Boolean);
    const linesByJob = new Map<string, string[]>();
    for (const line of lines) {
      const parsed = JSON.parse(line) as { id?: string; jobId?: string };
      const id = (parsed.id ?? parsed.jobId)!;
      linesByJob.set(id, [...(linesByJob.get(id) ?? []), line]);
    }
    for (const [job, bodies] of byJob(captures.map((c) => c.body))) {
      const prefixes = bodies.map((body) => `${body.slice(0, -1)},"_relay":`);
      expect(linesByJob.get(job)?.map((line, i) => line.startsWith(prefixes[i]!)), job).toEqual(prefixes.map(() => true));
    }

    // Every page as a markdown file under its job: the crawl's (200 and 404), the batch's, the v0 crawl's six.
    const pages = [captures[1]!, captures[2]!, captures[6]!, captures[9]!].flatMap((c) => {
      const body = JSON.parse(c.body.toString('utf8')) as { type: string; data: Array<{ markdown: string; metadata: { scrapeId: string } }> };
      return body.data.map((page) => ({ group: body.type.split('.')[0]!, job: jobOf(c.body), page }));
    });
    expect(pages).toHaveLength(9);
    for (const { group, job, page } of pages) {
      const file = readFileSync(join(out, 'pages', group, job, `${page.metadata.scrapeId}.md`), 'utf8');
      expect(file.endsWith(`\n---\n\n${page.markdown}\n`), file).toBe(true);
    }
    expect(readFileSync(join(out, 'pages', 'crawl', jobOf(captures[2]!.body), '3df7c0c0-5bd0-4e1f-9837-c43ae6a85f1f.md'), 'utf8')).toContain('status_code: 404');
    expect(await relay.metrics.registry.getSingleMetric('relay_events_duplicate_total')?.get()).toMatchObject({ values: [] });
  });

  it('with token auth, refuses the v0 request exactly as captured (its URL carries no token) with 401 and why', async () => {
    const tmp = tempDir('relay-captures-');
    cleanups.push(tmp.cleanup);
    const yaml = tokenAuthConfig(tmp.dir, `sinks: { archive: { type: file, dir: ${join(tmp.dir, 'out')} } }\nroutes: [{ name: all, to: [archive] }]`);
    relay = await testRelay(testConfig(yaml));
    const port = await listen(relay);
    const v0 = loadCapture(dir, 'sample-crawl.completed.v0-selfhosted-url');
    expect(v0.url).not.toContain('token=');
    const answer = await postRaw(port, v0.url, v0.rawHeaders, v0.body);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toEqual({
      error: { code: 'RELAY_ERR_INGRESS_TOKEN_MISSING', message: 'expected the x-relay-token header or the "token" query parameter, got none' },
    });
    expect(storedEvents(relay)).toBe(0);
  });

  it('with signing secrets only, refuses every one with 401, counts them, and warns once with the fix', async () => {
    const tmp = tempDir('relay-captures-');
    cleanups.push(tmp.cleanup);
    const logs = capturedLogger();
    const yaml = `
sources:
  firecrawl: { path: /webhooks/firecrawl, secrets: [a-signing-secret] }
queue: { dir: ${join(tmp.dir, 'queue')} }
sinks: { archive: { type: file, dir: ${join(tmp.dir, 'out')} } }
routes: [{ name: all, to: [archive] }]
`;
    relay = await testRelay(testConfig(yaml), undefined, { logger: logs.logger });
    const port = await listen(relay);
    const captures = replayed(dir);

    for (const capture of captures) {
      const answer = await postRaw(port, capture.url, capture.rawHeaders, capture.body);
      expect(answer.status, capture.name).toBe(401);
      expect(JSON.parse(answer.body).error.code, capture.name).toBe('RELAY_ERR_INGRESS_SIGNATURE_MISSING');
    }
    const unsigned = await relay.metrics.registry.getSingleMetric('relay_webhooks_unsigned_total')?.get();
    expect(unsigned?.values).toEqual([{ labels: { source: 'firecrawl' }, value: captures.length }]);
    const warnings = logs.warnings();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ source: 'firecrawl', msg: 'webhook without X-Firecrawl-Signature refused: switch this source to token auth' });
    expect(String(warnings[0]!.fix)).toContain('"X-Relay-Token": "<token>"');
    expect(JSON.stringify(warnings)).not.toContain(TOKEN);
    expect(storedEvents(relay)).toBe(0);
  });
});
