import { afterEach, describe, expect, it } from 'vitest';
import { PermanentError } from '../plugin-api/errors.js';
import type { Relay } from '../relay.js';
import { configYaml, registryWith, tempDir, testConfig, testRelay } from '../../test/helpers/relay.js';
import { RecordingSink, until } from '../../test/helpers/sinks.js';
import { sampleEvent, signedRequest } from '../../test/helpers/webhooks.js';
import { deadLetterCount } from '../../test/helpers/queue.js';

const TOKEN = 'admin-token-for-tests';
let relay: Relay | undefined;
let cleanup = (): void => {};
let sink: RecordingSink;
let refusing = true;
let delivered: string[] = [];

afterEach(async () => {
  await relay?.close(200);
  relay = undefined;
  cleanup();
});

async function start(admin = `admin: { token: ${TOKEN} }`): Promise<Relay> {
  const tmp = tempDir('relay-admin-');
  cleanup = tmp.cleanup;
  sink = new RecordingSink();
  refusing = true;
  delivered = [];
  sink.behaviour = (batch) => {
    if (refusing) return { failed: batch.map((_, index) => ({ index, error: new PermanentError(`HTTP 400 for ${batch[index]!.jobId}`) })) };
    delivered.push(...batch.map((e) => e.jobId));
  };
  const registry = registryWith(sink.definition());
  relay = await testRelay(testConfig(configYaml(tmp.dir, `\n${admin}\nsinks:\n  rec: { type: recording }\nroutes: [{ name: all, to: [rec] }]\n`), registry), registry);
  relay.startDelivery();
  for (const id of ['job-1', 'job-2', 'job-3']) await relay.app.inject(signedRequest(sampleEvent('crawl.failed', { id })));
  await until(() => deadLetterCount(relay!, 'rec') === 3);
  return relay;
}

const auth = { authorization: `Bearer ${TOKEN}` };

describe('admin API for dead letters', () => {
  it('refuses a request without a token, and one with a wrong token', async () => {
    const r = await start();
    const missing = await r.app.inject({ method: 'GET', url: '/admin/dead-letters' });
    expect(missing.statusCode).toBe(401);
    expect(missing.json().error.code).toBe('RELAY_ERR_ADMIN_TOKEN_MISSING');
    const wrong = await r.app.inject({ method: 'POST', url: '/admin/dead-letters/replay', headers: { authorization: 'Bearer nope' }, payload: { all: true } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe('RELAY_ERR_ADMIN_TOKEN_INVALID');
    expect(deadLetterCount(r, 'rec')).toBe(3);
  });

  it('is off when no token is configured', async () => {
    const r = await start('');
    const response = await r.app.inject({ method: 'GET', url: '/admin/dead-letters', headers: auth });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe('RELAY_ERR_ADMIN_DISABLED');
  });

  it('lists with filters, shows one with its last error and body', async () => {
    const r = await start();
    const all = await r.app.inject({ method: 'GET', url: '/admin/dead-letters', headers: auth });
    expect(all.json().count).toBe(3);
    const one = await r.app.inject({ method: 'GET', url: '/admin/dead-letters?job=job-2&sink=rec&type=crawl.failed', headers: auth });
    expect(one.json().dead_letters).toHaveLength(1);
    const id = one.json().dead_letters[0].id;
    const shown = await r.app.inject({ method: 'GET', url: `/admin/dead-letters/${id}`, headers: auth });
    expect(shown.json()).toMatchObject({ id, sink: 'rec', jobId: 'job-2', lastError: 'HTTP 400 for job-2', body: { type: 'crawl.failed', id: 'job-2' } });
    expect((await r.app.inject({ method: 'GET', url: '/admin/dead-letters/999', headers: auth })).json().error.code).toBe('RELAY_ERR_ADMIN_NOT_FOUND');
    const later = await r.app.inject({ method: 'GET', url: `/admin/dead-letters?since=${new Date(Date.now() + 60_000).toISOString()}`, headers: auth });
    expect(later.json().count).toBe(0);
    expect((await r.app.inject({ method: 'GET', url: '/admin/dead-letters?since=yesterday', headers: auth })).json().error.code).toBe('RELAY_ERR_ADMIN_BAD_REQUEST');
  });

  // Issue 12 follow-up: a replay to a sink no longer configured was parked again within 60 s.
  it('refuses a replay to a sink that is not configured, naming it, and replays nothing', async () => {
    const r = await start();
    const response = await r.app.inject({ method: 'POST', url: '/admin/dead-letters/replay', headers: auth, payload: { sink: 'gone' } });
    expect(response.statusCode).toBe(409);
    expect(response.json().error.code).toBe('RELAY_ERR_QUEUE_REPLAY_SINK_UNAVAILABLE');
    expect(response.json().error.message).toContain('sink "gone": no sink of that name is configured (configured: rec)');
    expect(deadLetterCount(r, 'rec')).toBe(3);
  });

  it('replays one, then a filter, and drops the rest; refuses a replay that selects nothing', async () => {
    const r = await start();
    refusing = false;
    const vague = await r.app.inject({ method: 'POST', url: '/admin/dead-letters/replay', headers: auth, payload: {} });
    expect(vague.statusCode).toBe(400);
    const [first] = (await r.app.inject({ method: 'GET', url: '/admin/dead-letters?job=job-1', headers: auth })).json().dead_letters;
    expect((await r.app.inject({ method: 'POST', url: '/admin/dead-letters/replay', headers: auth, payload: { ids: [first.id] } })).json()).toEqual({ replayed: 1 });
    await until(() => delivered.includes('job-1'), 3000);
    expect((await r.app.inject({ method: 'POST', url: '/admin/dead-letters/replay', headers: auth, payload: { job: 'job-2' } })).json()).toEqual({ replayed: 1 });
    await until(() => delivered.includes('job-2'), 3000);
    expect((await r.app.inject({ method: 'POST', url: '/admin/dead-letters/drop', headers: auth, payload: { all: true } })).json()).toEqual({ dropped: 1 });
    expect(deadLetterCount(r)).toBe(0);
    expect(delivered).toEqual(['job-1', 'job-2']);
  });
});
