import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Relay } from '../relay.js';
import { configYaml, tempDir, testConfig, testRelay } from '../../test/helpers/relay.js';
import { signedRequest, sampleEvent } from '../../test/helpers/webhooks.js';
import { CONSOLE_CSP } from '../console/plugin.js';

const TOKEN = 'admin-token-for-tests';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('console admin API', () => {
  let relay: Relay | undefined;
  const cleanups: Array<() => void> = [];
  afterEach(async () => {
    await relay?.close(100);
    relay = undefined;
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  const build = async (admin = `admin: { token: ${TOKEN} }`) => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    relay = await testRelay(testConfig(configYaml(tmp.dir, `
${admin}
sinks: { archive: { type: file, dir: "${join(tmp.dir, 'out')}" } }
routes: [{ name: all, to: [archive] }]
`)));
    return relay;
  };

  it('describes every admin route in /admin/openapi.json, generated from the route schemas', async () => {
    const r = await build();
    const doc = (await r.app.inject({ method: 'GET', url: '/admin/openapi.json', headers: auth })).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/admin/backfill', '/admin/dead-letters', '/admin/dead-letters/drop', '/admin/dead-letters/replay', '/admin/dead-letters/{id}',
      '/admin/events', '/admin/events/{id}', '/admin/events/{id}/attempts', '/admin/events/{id}/raw', '/admin/overview', '/admin/sinks', '/admin/sinks/{name}/pause', '/admin/sinks/{name}/resume',
      '/admin/stream', '/admin/test-event',
    ]);
    expect(doc.paths['/admin/events'].get.parameters.map((p: { name: string }) => p.name)).toContain('job');
  });

  it('lists events, shows one with its routing, pauses a known sink and refuses an unknown one', async () => {
    const r = await build();
    expect((await r.app.inject(signedRequest(sampleEvent('crawl.started', { id: 'job-1' })))).statusCode).toBe(200);
    const list = (await r.app.inject({ method: 'GET', url: '/admin/events?job=job-1', headers: auth })).json();
    expect(list.events.map((e: { job_id: string; sinks: unknown }) => [e.job_id, e.sinks])).toEqual([['job-1', { archive: 'pending' }]]);
    const one = (await r.app.inject({ method: 'GET', url: `/admin/events/${list.events[0].id}`, headers: auth })).json();
    expect(one.routing).toEqual([{ route: 'all', to: ['archive'], matched: true, checks: [] }]);
    expect((await r.app.inject({ method: 'GET', url: '/admin/events/999', headers: auth })).json().error.code).toBe('RELAY_ERR_ADMIN_EVENT_NOT_FOUND');

    expect((await r.app.inject({ method: 'POST', url: '/admin/sinks/archive/pause', headers: auth })).json()).toEqual({ sink: 'archive', paused: true });
    expect((await r.app.inject({ method: 'GET', url: '/admin/sinks', headers: auth })).json().sinks[0].state).toBe('paused');
    expect([...(await r.queue.pausedSinks())]).toEqual(['archive']);
    const unknown = await r.app.inject({ method: 'POST', url: '/admin/sinks/nope/pause', headers: auth });
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, 'RELAY_ERR_ADMIN_SINK_UNKNOWN']);
  });

  it('lists a webhook no route matched as unrouted, and its routing says which condition failed', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    relay = await testRelay(testConfig(configYaml(tmp.dir, `
admin: { token: ${TOKEN} }
sinks: { archive: { type: file, dir: "${join(tmp.dir, 'out')}" } }
routes: [{ name: pages, match: { type: crawl.page }, to: [archive] }]
`)));
    const r = relay;
    const answer = (await r.app.inject(signedRequest(sampleEvent('crawl.started', { id: 'job-nowhere' })))).json();
    expect([answer.deliveries, answer.event_id]).toEqual([0, expect.any(String)]);
    const list = (await r.app.inject({ method: 'GET', url: '/admin/events?outcome=unrouted', headers: auth })).json();
    expect(list.events.map((e: { job_id: string; sinks: unknown; outcome: unknown }) => [e.job_id, e.sinks, e.outcome])).toEqual([['job-nowhere', {}, 'unrouted']]);
    const one = (await r.app.inject({ method: 'GET', url: `/admin/events/${answer.event_id}`, headers: auth })).json();
    expect(one.outcome).toBe('unrouted');
    expect(one.routing).toEqual([{ route: 'pages', to: ['archive'], matched: false, checks: [{ condition: 'type crawl.page', passed: false, got: ['crawl.started'] }] }]);

    // A backfill into archive takes only what its routes send it (the page), unless told to ignore them.
    expect((await r.app.inject(signedRequest(sampleEvent('crawl.page', { id: 'job-nowhere' })))).statusCode).toBe(200);
    const backfill = (extra: Record<string, unknown>) =>
      r.app.inject({ method: 'POST', url: '/admin/backfill', headers: auth, payload: { sink: 'archive', since: '2000-01-01T00:00:00Z', job: 'job-nowhere', ...extra } });
    expect((await backfill({})).json()).toEqual({ sink: 'archive', queued: 1 });
    expect((await backfill({ ignore_routes: true })).json()).toEqual({ sink: 'archive', queued: 2 });
  });

  it('answers a bounded preview of a large event; its raw route streams the stored bytes while /healthz still answers', async () => {
    const r = await build();
    const body = sampleEvent('crawl.page', { id: 'job-large' });
    const page = (body.data as Array<{ markdown: string }>)[0]!;
    // 4 MiB of markdown with a two-byte character across the preview's cut.
    page.markdown = 'é'.repeat(2 * 1024 * 1024);
    const raw = Buffer.from(JSON.stringify(body));
    expect((await r.app.inject(signedRequest(raw))).statusCode).toBe(200);
    const [{ id }] = (await r.app.inject({ method: 'GET', url: '/admin/events?job=job-large', headers: auth })).json().events;

    const detail = await r.app.inject({ method: 'GET', url: `/admin/events/${id}`, headers: auth });
    expect(detail.rawPayload.length).toBeLessThan(300 * 1024);
    const one = detail.json();
    expect([one.size, one.truncated, one.payload]).toEqual([raw.length, true, null]);
    expect(raw.toString('utf8').startsWith(one.preview)).toBe(true);
    expect(Buffer.byteLength(one.preview)).toBeGreaterThan(256 * 1024 - 4);
    expect(one.routing).toEqual([{ route: 'all', to: ['archive'], matched: true, checks: [] }]);

    // Live updates read outcomes and attempts only: no payload at all.
    const attempts = (await r.app.inject({ method: 'GET', url: `/admin/events/${id}/attempts`, headers: auth })).json();
    expect(Object.keys(attempts).sort()).toEqual(['attempts', 'id', 'sinks']);

    const base = (await r.listen(0)).replace('[::1]', '127.0.0.1');
    const download = await fetch(`${base}/admin/events/${id}/raw`, { headers: auth });
    expect([download.status, download.headers.get('content-type'), download.headers.get('content-disposition')]).toEqual([
      200,
      'application/json',
      `attachment; filename="event-${id}.json"`,
    ]);
    const reader = download.body!.getReader();
    const chunks: Uint8Array[] = [(await reader.read()).value!];
    // The download is under way (not read to its end) and the relay answers other requests.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) chunks.push(chunk.value);
    expect(Buffer.concat(chunks).equals(raw)).toBe(true);

    const small = (await r.app.inject({ method: 'GET', url: `/admin/events/${id + 1}/raw`, headers: auth })).json();
    expect(small.error.code).toBe('RELAY_ERR_ADMIN_EVENT_NOT_FOUND');
  });

  it('answers a small event whole: payload parsed, no preview', async () => {
    const r = await build();
    expect((await r.app.inject(signedRequest(sampleEvent('crawl.started', { id: 'job-small' })))).statusCode).toBe(200);
    const [{ id }] = (await r.app.inject({ method: 'GET', url: '/admin/events?job=job-small', headers: auth })).json().events;
    const one = (await r.app.inject({ method: 'GET', url: `/admin/events/${id}`, headers: auth })).json();
    expect([one.truncated, one.preview, one.payload.id, one.attempts]).toEqual([false, null, 'job-small', []]);
  });

  it('streams a notice for each event received, without its payload, and ends open streams when the relay closes', async () => {
    const r = await build();
    const base = (await r.listen(0)).replace('[::1]', '127.0.0.1');
    const response = await fetch(`${base}/admin/stream`, { headers: auth });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    expect((await reader.read()).value).toBe(': connected\n\n');
    const body = sampleEvent('crawl.started', { id: 'job-streamed' });
    expect((await r.app.inject(signedRequest(body))).statusCode).toBe(200);
    let text = '';
    while (!text.includes('event: received')) text += (await reader.read()).value ?? '';
    const data = JSON.parse(text.split('\n').find((l) => l.startsWith('data: '))!.slice(6));
    expect(data).toMatchObject({ kind: 'received', type: 'crawl.started', jobId: 'job-streamed', source: 'firecrawl' });
    expect(Object.keys(data).sort()).toEqual(['at', 'id', 'jobId', 'kind', 'source', 'type']);
    // Would wait forever for the open stream without the preClose hook (the test's timeout fails it).
    await r.close(100);
    while (!(await reader.read()).done);
  });

  it('serves the console with a strict CSP, and not at all without an admin token', async () => {
    const r = await build();
    const page = await r.app.inject({ method: 'GET', url: '/console/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(page.body).not.toMatch(/<script>|https?:\/\//);
    await r.close(100);
    const off = await build('');
    expect((await off.app.inject({ method: 'GET', url: '/console/' })).statusCode).toBe(404);
  });
});
