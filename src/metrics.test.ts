import { afterEach, describe, expect, it } from 'vitest';
import { PermanentError, NotConnectedError } from './plugin-api/errors.js';
import type { Relay } from './relay.js';
import { SECRET, configYaml, registryWith, tempDir, testConfig, testRelay } from '../test/helpers/relay.js';
import { RecordingSink, until } from '../test/helpers/sinks.js';
import { sampleEvent, signedRequest } from '../test/helpers/webhooks.js';

let relay: Relay | undefined;
let cleanup = (): void => {};

afterEach(async () => {
  await relay?.close(200);
  relay = undefined;
  cleanup();
});

async function start(sink: RecordingSink, extra = ''): Promise<Relay> {
  const tmp = tempDir('relay-metrics-');
  cleanup = tmp.cleanup;
  const registry = registryWith(sink.definition());
  relay = await testRelay(
    testConfig(configYaml(tmp.dir, `\n${extra}\nsinks:\n  rec: { type: recording, retry: { initial_delay_ms: 30, max_delay_ms: 30, jitter: 0, max_attempts: 3 } }\nroutes: [{ name: all, to: [rec] }]\n`), registry),
    registry,
  );
  relay.startDelivery();
  return relay;
}

/** One sample's value from the Prometheus text, or 0 when absent. */
async function sample(r: Relay, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await r.metrics.registry.metrics();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (wanted.every((w) => line.includes(w))) return Number(line.split(' ').at(-1));
  }
  return 0;
}

describe('metrics', () => {
  it('move as events are received, rejected, delivered, retried and dead-lettered', async () => {
    const sink = new RecordingSink();
    sink.behaviour = (batch, call) => {
      if (call === 0) throw new Error('first write fails');
      return { failed: batch.map((e, index) => ({ e, index })).filter(({ e }) => e.jobId === 'doomed').map(({ index }) => ({ index, error: new PermanentError('no') })) };
    };
    const r = await start(sink);
    await r.app.inject(signedRequest(sampleEvent('crawl.page', { id: 'ok-1', webhookId: 'w-1' })));
    await r.app.inject(signedRequest(sampleEvent('crawl.page', { id: 'ok-1', webhookId: 'w-1' }))); // duplicate
    await r.app.inject(signedRequest(sampleEvent('crawl.page', { id: 'x' }), 'wrong-secret'));
    // Well-formed credentials: a request without any is refused (401) before its media type is looked at.
    await r.app.inject({ ...signedRequest('x'), headers: { ...signedRequest('x').headers, 'content-type': 'text/plain' } });
    await until(() => sink.calls >= 2);
    await r.app.inject(signedRequest(sampleEvent('crawl.failed', { id: 'doomed' })));
    await until(async () => (await sample(r, 'relay_dead_letters', { sink: 'rec' })) === 1);

    expect(await sample(r, 'relay_events_received_total', { source: 'firecrawl', type: 'crawl.page' })).toBe(1);
    expect(await sample(r, 'relay_events_received_total', { source: 'firecrawl', type: 'crawl.failed' })).toBe(1);
    expect(await sample(r, 'relay_events_duplicate_total', { source: 'firecrawl' })).toBe(1);
    expect(await sample(r, 'relay_events_rejected_total', { code: 'RELAY_ERR_INGRESS_SIGNATURE_MISMATCH' })).toBe(1);
    expect(await sample(r, 'relay_events_rejected_total', { code: 'RELAY_ERR_INGRESS_MEDIA_TYPE' })).toBe(1);
    expect(await sample(r, 'relay_deliveries_total', { sink: 'rec', outcome: 'retried' })).toBe(1);
    expect(await sample(r, 'relay_deliveries_total', { sink: 'rec', outcome: 'delivered' })).toBe(1);
    expect(await sample(r, 'relay_deliveries_total', { sink: 'rec', outcome: 'dead_lettered' })).toBe(1);
    expect(await sample(r, 'relay_delivery_duration_seconds_count', { sink: 'rec' })).toBe(3);
    expect(await sample(r, 'relay_queue_pending', { sink: 'rec' })).toBe(0);
    expect(await sample(r, 'relay_sink_up', { sink: 'rec' })).toBe(1);
    expect(await sample(r, 'relay_queue_bytes')).toBeGreaterThan(0);
  });

  it('count waiting deliveries and their age while a sink is down; readiness stays 200 and reports the sink', async () => {
    const sink = new RecordingSink();
    let up = false;
    sink.connectBehaviour = () => {
      if (!up) throw new NotConnectedError('connection refused');
    };
    const r = await start(sink);
    for (const id of ['a', 'b', 'c']) await r.app.inject(signedRequest(sampleEvent('crawl.completed', { id })));
    await until(() => r.readiness().sinks.rec?.error !== null);
    // The relay can still accept and persist webhooks: it stays in a load balancer's rotation.
    const down = await r.app.inject({ method: 'GET', url: '/readyz' });
    expect(down.statusCode).toBe(200);
    expect(down.json()).toMatchObject({ ready: true, queue: { ready: true }, sinks: { rec: { ready: false } } });
    expect(down.json().sinks.rec.error).toMatch(/connection refused/);
    expect(await sample(r, 'relay_queue_pending', { sink: 'rec' })).toBe(3);
    expect(await sample(r, 'relay_sink_up', { sink: 'rec' })).toBe(0);
    expect(await sample(r, 'relay_queue_oldest_pending_seconds', { sink: 'rec' })).toBeGreaterThanOrEqual(0);

    up = true;
    await until(() => sink.events.length === 3, 5000);
    const ready = await r.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ ready: true, queue: { ready: true, error: null }, sinks: { rec: { ready: true, error: null, from: 'last_write' } } });
    expect(await sample(r, 'relay_queue_pending', { sink: 'rec' })).toBe(0);
  });

  it('serves the Prometheus text format on /metrics', async () => {
    const r = await start(new RecordingSink());
    const response = await r.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.body).toContain('# TYPE relay_deliveries_total counter');
    expect(response.body).toContain('# TYPE relay_delivery_duration_seconds histogram');
    expect(response.body).not.toContain(SECRET);
  });

  it('report the log lines the log destination dropped, read at each scrape', async () => {
    const r = await start(new RecordingSink());
    expect(await r.metrics.registry.metrics()).toContain('relay_log_lines_dropped_total 0');
    let dropped = 3;
    r.metrics.observeLogDrops(() => dropped);
    expect(await sample(r, 'relay_log_lines_dropped_total')).toBe(3);
    dropped = 7;
    expect(await sample(r, 'relay_log_lines_dropped_total')).toBe(7);
  });
});
