import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { REDACT_PATHS } from './logger.js';
import { PermanentError, Type, defineSink } from './plugin-api/index.js';
import type { Relay } from './relay.js';
import { SECRET, configYaml, registryWith, tempDir, testConfig, testRelay } from '../test/helpers/relay.js';
import { RecordingSink, until } from '../test/helpers/sinks.js';
import { sampleEvent, signedRequest } from '../test/helpers/webhooks.js';
import { sqliteOf, pendingOf } from '../test/helpers/queue.js';

let relay: Relay | undefined;
let cleanup = (): void => {};

afterEach(async () => {
  await relay?.close(100);
  relay = undefined;
  cleanup();
});

async function relayWith(body: string, sinks: Record<string, RecordingSink>, options: Parameters<typeof testRelay>[2] = {}) {
  const tmp = tempDir();
  cleanup = tmp.cleanup;
  const registry = registryWith(...Object.entries(sinks).map(([type, sink]) => sink.definition(type)));
  relay = await testRelay(testConfig(configYaml(tmp.dir, body), registry), registry, options);
  return relay;
}

describe('delivery through the relay', () => {
  it('fans an event out to each matching sink once, and a hung sink delays only itself', async () => {
    const fast = new RecordingSink();
    const hung = new RecordingSink();
    hung.behaviour = () => new Promise(() => {});
    const r = await relayWith(
      `
sinks:
  fast: { type: fast }
  hung: { type: hung, write_timeout_ms: 60000 }
routes:
  - { name: pages, match: { type: "*.page" }, to: [fast, hung] }
  - { name: all, match: {}, to: [fast] }
`,
      { fast, hung },
    );
    r.startDelivery();
    for (let i = 0; i < 5; i++) {
      expect((await r.app.inject(signedRequest(sampleEvent('crawl.page', { id: `job-${i}` })))).json().deliveries).toBe(2);
    }
    await until(() => fast.events.length === 5);
    expect(fast.events.map((e) => e.jobId)).toEqual(['job-0', 'job-1', 'job-2', 'job-3', 'job-4']);
    expect(hung.events).toHaveLength(0);
    expect(pendingOf(r, 'hung')).toBe(5);
    expect(pendingOf(r, 'fast')).toBe(0);
  });

  // With history on, such an event is kept (listed as unrouted): test/store-contract/history-contract.ts.
  it('acknowledges and counts an event that matches no route, and with history off stores nothing', async () => {
    const sink = new RecordingSink();
    const r = await relayWith(
      `
history: { retention_seconds: 0 }
sinks: { only: { type: only } }
routes: [{ name: failures, match: { success: false }, to: [only] }]
`,
      { only: sink },
    );
    const answer = await r.app.inject(signedRequest(sampleEvent('crawl.started')));
    expect(answer.json()).toMatchObject({ ok: true, event_id: null, deliveries: 0 });
    const metric = await r.metrics.eventsUnrouted.get();
    expect(metric.values[0]?.value).toBe(1);
    expect((sqliteOf(r).prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n).toBe(0);
  });

  it('answers 503 RELAY_ERR_QUEUE_FULL once the queue is at max_bytes, and stores nothing more', async () => {
    const sink = new RecordingSink();
    const r = await relayWith(
      // Continues the helper's `queue:` map (its dir comes first).
      `  max_bytes: 1048576
sinks: { s: { type: s } }
routes: [{ name: all, to: [s] }]
`,
      { s: sink },
    );
    let status = 200;
    let code: string | undefined;
    for (let i = 0; i < 200 && status === 200; i++) {
      const big = sampleEvent('crawl.page', { id: `job-${i}`, data: [{ markdown: 'x'.repeat(20_000) }] });
      const answer = await r.app.inject(signedRequest(big));
      status = answer.statusCode;
      code = answer.json().error?.code;
    }
    expect(status).toBe(503);
    expect(code).toBe('RELAY_ERR_QUEUE_FULL');
  });

  it('answers 503 RELAY_ERR_QUEUE_UNAVAILABLE when the event cannot be written', async () => {
    const sink = new RecordingSink();
    const r = await relayWith(`\nsinks: { s: { type: s } }\nroutes: [{ name: all, to: [s] }]\n`, { s: sink });
    sqliteOf(r).exec(`CREATE TRIGGER refuse BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END;`);
    const answer = await r.app.inject(signedRequest(sampleEvent('crawl.page')));
    expect(answer.statusCode).toBe(503);
    expect(answer.json().error.code).toBe('RELAY_ERR_QUEUE_UNAVAILABLE');
  });
});

describe('logs', () => {
  it('hold no secret, signature, token or payload, whatever is rejected or accepted', async () => {
    const lines: string[] = [];
    const capture = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino({ level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, capture);
    const sink = new RecordingSink();
    sink.behaviour = (_batch, call) => {
      if (call === 0) throw new Error('destination refused');
    };
    const r = await relayWith(`\nsinks: { s: { type: s, retry: { initial_delay_ms: 10 } } }\nroutes: [{ name: all, to: [s] }]\n`, { s: sink }, { logger });
    r.startDelivery();
    const marker = 'PAYLOAD-MARKER-do-not-log';
    const event = sampleEvent('crawl.page', { data: [{ markdown: marker, metadata: { url: 'https://e.com' } }] });
    const good = signedRequest(event);
    const forged = signedRequest(event, 'another-secret');
    await r.app.inject(good);
    await r.app.inject(forged);
    await r.app.inject({ ...good, payload: `${String(good.payload)}x` });
    await r.app.inject({ ...good, headers: { ...good.headers, 'content-type': 'text/plain' } });
    await until(() => sink.calls >= 2 && sink.events.length === 1);
    const text = lines.join('');
    expect(text).toContain('webhook rejected');
    expect(text).toContain('delivery failed');
    for (const secret of [SECRET, marker, good.headers['x-firecrawl-signature'].slice(7), forged.headers['x-firecrawl-signature'].slice(7)]) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('readiness', () => {
  // Issue 12 item 8: /readyz answered 503 while a sink was down, taking the ingress out of rotation.
  it('is 200 while the queue is writable with a sink down, and says which sink and why', async () => {
    const down = new RecordingSink();
    down.connectBehaviour = () => {
      throw new Error('connection refused');
    };
    const r = await relayWith(`\nsinks: { down: { type: down } }\nroutes: [{ name: all, to: [down] }]\n`, { down });
    void r.startDelivery();
    await until(() => r.readiness().sinks.down?.error !== null && r.readiness().sinks.down?.error !== undefined);
    const answer = await r.app.inject({ method: 'GET', url: '/readyz' });
    expect(answer.statusCode).toBe(200);
    // Issue 17 (trial): a sink that never connected said `last_write`, though it never wrote.
    expect(answer.json()).toMatchObject({ ready: true, queue: { ready: true }, sinks: { down: { ready: false, from: 'not_started' } } });
    expect(answer.json().sinks.down.error).toMatch(/connection refused/);
    expect((await r.app.inject(signedRequest(sampleEvent('crawl.page')))).statusCode).toBe(200);
    const gauge = (await r.metrics.registry.getSingleMetric('relay_sink_up')!.get()).values;
    expect(gauge).toEqual([expect.objectContaining({ labels: { sink: 'down' }, value: 0 })]);
  });

  it('reads a sink\'s state from its healthcheck, polled in the background', async () => {
    let checks = 0;
    let healthy = false;
    const registry = registryWith(
      defineSink({
        type: 'checked',
        configSchema: Type.Object({}),
        create: () => ({
          async deliver() {},
          async healthcheck() {
            checks++;
            if (!healthy) throw new Error('bucket unreachable');
          },
        }),
      }),
    );
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    relay = await testRelay(testConfig(configYaml(tmp.dir, `\nsinks: { c: { type: checked } }\nroutes: [{ name: all, to: [c] }]\n`), registry), registry, { healthcheckIntervalMs: 20 });
    void relay.startDelivery();
    await until(() => checks >= 1 && relay!.readiness().sinks.c?.from === 'healthcheck');
    expect(relay.readiness().sinks.c).toMatchObject({ ready: false, error: 'bucket unreachable' });
    expect((await relay.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    healthy = true;
    await until(() => relay!.readiness().sinks.c?.ready === true);
  });
});

describe('sink shape', () => {
  it('refuses a sink that gives neither deliver nor write: it never connects and readiness says why', async () => {
    const registry = registryWith(defineSink({ type: 'shapeless', configSchema: Type.Object({}), create: () => ({}) as never }));
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    relay = await testRelay(testConfig(configYaml(tmp.dir, `\nsinks: { x: { type: shapeless } }\nroutes: [{ name: all, to: [x] }]\n`), registry), registry);
    void relay.startDelivery();
    await until(() => relay!.readiness().sinks.x?.error != null);
    expect(relay.readiness().sinks.x?.error).toMatch(/exactly one of deliver\(event, signal\) or write\(batch, signal\)/);
  });
});

describe('deliveries that would wait forever', () => {
  const body = (sinks: string, to: string) => `\nsinks: {${sinks}}\nroutes: [{ name: all, to: [${to}] }]\n`;
  const metricValue = async (r: Relay, name: string, labels: Record<string, string> = {}) =>
    (await r.metrics.registry.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;

  // Issue 12 item 6: deliveries of a removed or disabled sink waited forever and filled max_bytes.
  it('become dead letters at start when their sink was removed or disabled, with that reason', async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    const hung = new RecordingSink();
    hung.behaviour = () => new Promise(() => {});
    const registry = registryWith(hung.definition('hung'));
    const first = await testRelay(testConfig(configYaml(tmp.dir, body(' gone: { type: hung }, off: { type: hung } ', 'gone, off')), registry), registry);
    await first.app.inject(signedRequest(sampleEvent('crawl.page')));
    await first.close(50);

    relay = await testRelay(
      testConfig(configYaml(tmp.dir, body(' off: { type: hung, enabled: false }, kept: { type: hung } ', 'off, kept')), registry),
      registry,
    );
    await relay.startDelivery();
    const letters = await relay.queue.deadLetters.list();
    expect(letters.map((l) => [l.sink, l.lastError]).sort()).toEqual([
      ['gone', 'sink no longer configured'],
      ['off', 'sink disabled'],
    ]);
    expect(pendingOf(relay, 'gone') + pendingOf(relay, 'off')).toBe(0);
    expect(await metricValue(relay, 'relay_dead_letters_parked_total', { sink: 'gone', reason: 'sink_removed' })).toBe(1);
    expect(await metricValue(relay, 'relay_dead_letters_parked_total', { sink: 'off', reason: 'sink_disabled' })).toBe(1);
  });

  it('become dead letters when a reload removes their sink', async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    const hung = new RecordingSink();
    hung.behaviour = () => new Promise(() => {});
    const keep = new RecordingSink();
    const registry = registryWith(hung.definition('hung'), keep.definition('keep'));
    relay = await testRelay(testConfig(configYaml(tmp.dir, body(' old: { type: hung, write_timeout_ms: 100 }, k: { type: keep } ', 'old, k')), registry), registry);
    void relay.startDelivery();
    await relay.app.inject(signedRequest(sampleEvent('crawl.page')));
    await until(() => hung.calls === 1);
    const reloading = relay.reload(testConfig(configYaml(tmp.dir, body(' k: { type: keep } ', 'k')), registry), registry, 100);
    // Sent while the removed sink is still stopping: the new routes are already in force.
    await relay.app.inject(signedRequest(sampleEvent('crawl.page', { id: 'during-reload' })));
    const result = await reloading;
    expect(result.removed).toEqual(['old']);
    const letters = await relay.queue.deadLetters.list();
    expect(letters.map((l) => [l.sink, l.jobId === 'during-reload', l.lastError])).toEqual([['old', false, 'sink no longer configured']]);
    expect(pendingOf(relay, 'old')).toBe(0);
    await until(() => keep.events.some((e) => e.jobId === 'during-reload'));
  });

  it('stay pending when the upkeep tick fires while a reload recreates their sink', async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    const registry = registryWith(
      defineSink({
        type: 'slow',
        configSchema: Type.Object({}),
        create: () => ({
          deliver: (_event, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true })),
          // A slow close keeps the changed sink without a runner for a while.
          close: () => new Promise((resolve) => setTimeout(resolve, 300)),
        }),
      }),
    );
    const config = (timeout: number) => testConfig(configYaml(tmp.dir, body(` c: { type: slow, write_timeout_ms: ${timeout} } `, 'c')), registry);
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      relay = await testRelay(config(60_000), registry);
      await relay.startDelivery();
      for (let i = 0; i < 3; i++) await relay.app.inject(signedRequest(sampleEvent('crawl.page', { id: `job-${i}` })));
      const reloading = relay.reload(config(30_000), registry, 100);
      await until(() => !relay!.runners.has('c'), 5000, 1);
      vi.advanceTimersByTime(60_000); // the upkeep tick, while the changed sink has no runner
      await reloading;
      await until(async () => pendingOf(relay!, 'c') === 3 && (await relay!.queue.deadLetters.list()).length === 0);
      await new Promise((resolve) => setTimeout(resolve, 50)); // the tick's upkeep has ended
      expect(await relay.queue.deadLetters.list()).toEqual([]);
      expect(pendingOf(relay, 'c')).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a sink over max_pending_bytes parks new deliveries (dead_letter) or refuses the webhook (reject); other sinks are unaffected', async () => {
    const hung = new RecordingSink();
    hung.behaviour = () => new Promise(() => {});
    const other = new RecordingSink();
    const r = await relayWith(
      `\nsinks:\n  parked: { type: hung, max_pending_bytes: 4096 }\n  strict: { type: hung, max_pending_bytes: 4096, when_full: reject }\n  fine: { type: fine }\nroutes:\n  - { name: a, match: { type: "crawl.page" }, to: [parked, fine] }\n  - { name: b, match: { type: "crawl.completed" }, to: [strict, fine] }\n`,
      { hung, fine: other },
    );
    const page = (n: number) => signedRequest(sampleEvent('crawl.page', { id: `job-${n}`, data: [{ markdown: 'x'.repeat(2000) }] }));
    expect((await r.app.inject(page(1))).statusCode).toBe(200);
    expect((await r.app.inject(page(2))).statusCode).toBe(200);
    expect(pendingOf(r, 'parked')).toBe(1);
    const letters = await r.queue.deadLetters.list({ sink: 'parked' });
    expect(letters).toHaveLength(1);
    expect(letters[0]!.lastError).toMatch(/max_pending_bytes/);
    const parkedMetric = (await r.metrics.deadLettersParked.get()).values.find((v) => v.labels.sink === 'parked');
    expect(parkedMetric).toMatchObject({ labels: { reason: 'sink_full' }, value: 1 });
    expect(pendingOf(r, 'fine')).toBe(2);

    const completed = (n: number) => signedRequest(sampleEvent('crawl.completed', { id: `job-${n}`, data: [{ markdown: 'y'.repeat(2000) }] }));
    expect((await r.app.inject(completed(3))).statusCode).toBe(200);
    const refused = await r.app.inject(completed(4));
    expect(refused.statusCode).toBe(503);
    expect(refused.json().error.code).toBe('RELAY_ERR_QUEUE_SINK_FULL');
    // Other webhooks still go through.
    expect((await r.app.inject(page(5))).statusCode).toBe(200);
  });

  it('dead letters of a stuck sink never make the queue refuse webhooks: past dead_letters.max_bytes the oldest go', async () => {
    const hung = new RecordingSink();
    hung.behaviour = () => new Promise(() => {});
    const fine = new RecordingSink();
    // dead_letters.max_bytes defaults to a quarter of queue.max_bytes (1 MiB here).
    const r = await relayWith(
      `  max_bytes: 4194304\nsinks: { stuck: { type: hung, max_pending_bytes: 65536 }, fine: { type: fine } }\nroutes: [{ name: all, to: [stuck, fine] }]\n`,
      { hung, fine },
    );
    void r.startDelivery();
    // 800 webhooks of ~16 KB: three times what max_bytes holds.
    const statuses = new Set<number>();
    for (let n = 0; n < 800; n++) {
      statuses.add((await r.app.inject(signedRequest(sampleEvent('crawl.page', { id: `job-${n}`, data: [{ markdown: 'x'.repeat(16_000) }] })))).statusCode);
    }
    expect([...statuses]).toEqual([200]);
    await until(() => fine.events.length === 800);
    expect(new Set(fine.events.map((e) => e.jobId)).size).toBe(800);
    expect(await metricValue(r, 'relay_dead_letters_expired_total', { reason: 'bytes' })).toBeGreaterThan(0);
    // The newest dead letters are the ones kept.
    const letters = await r.queue.deadLetters.list({ sink: 'stuck' });
    expect(letters.at(-1)!.jobId).toBe('job-799');
  }, 120_000);

  it('dead letters expire after dead_letters.retention_seconds', async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    const clock = { now: Date.UTC(2026, 0, 1) };
    const refusing = new RecordingSink();
    refusing.behaviour = () => ({ failed: [{ index: 0, error: new PermanentError('refused for good') }] });
    const registry = registryWith(refusing.definition('refusing'));
    const config = testConfig(configYaml(tmp.dir, `\ndead_letters: { retention_seconds: 3600 }${body(' r: { type: refusing } ', 'r')}`), registry);
    const first = await testRelay(config, registry, { now: () => clock.now });
    void first.startDelivery();
    await first.app.inject(signedRequest(sampleEvent('crawl.page')));
    await until(async () => (await first.queue.deadLetters.list()).length === 1);
    await first.close(50);

    clock.now += 3601_000;
    relay = await testRelay(config, registry, { now: () => clock.now });
    await relay.startDelivery();
    expect(await relay.queue.deadLetters.list()).toEqual([]);
    expect(await metricValue(relay, 'relay_dead_letters_expired_total', { reason: 'age' })).toBe(1);
  });
});

describe('shutdown during a reload', () => {
  it('waits for the reload: no runner it creates outlives close(), and a later reload changes nothing', async () => {
    let calls = 0;
    const registry = registryWith(
      defineSink({
        type: 'slow',
        configSchema: Type.Object({}),
        create: () => ({
          async deliver(_event, signal) {
            calls++;
            await new Promise((_, reject) => signal.addEventListener('abort', () => setTimeout(() => reject(new Error('aborted')), 50), { once: true }));
          },
        }),
      }),
    );
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    const config = (timeout: number) => testConfig(configYaml(tmp.dir, `\nsinks: { c: { type: slow, write_timeout_ms: ${timeout} } }\nroutes: [{ name: all, to: [c] }]\n`), registry);
    const closing = await testRelay(config(60_000), registry);
    void closing.startDelivery();
    await closing.app.inject(signedRequest(sampleEvent('crawl.page', { id: 'j' })));
    await until(() => calls === 1);
    const reloading = closing.reload(config(30_000), registry, 300);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await closing.close(100);
    expect(await reloading).toMatchObject({ changed: ['c'] });
    expect(await closing.reload(config(20_000), registry, 100)).toEqual({ added: [], changed: [], removed: [], needsRestart: [] });
    // Every runner is stopped: none starts a write after close.
    const before = calls;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(calls).toBe(before);
    expect([...closing.runners.values()].every((r) => (r as unknown as { stopping: AbortController }).stopping.signal.aborted)).toBe(true);
  });
});

describe('a sink whose close() never ends', () => {
  // Issue 17 (trial): a reload waited for it forever; the sink's new instance never started and later reloads queued behind it.
  it('does not hold a reload: the new instance delivers, the hang is logged with its code, later reloads apply, shutdown names it', async () => {
    const delivered: string[] = [];
    let instances = 0;
    const registry = registryWith(
      defineSink({
        type: 'hangs_on_close',
        configSchema: Type.Object({}),
        create: () => {
          const instance = ++instances;
          return {
            async deliver(event) {
              delivered.push(`${instance}:${event.jobId}`);
            },
            close: () => new Promise<void>(() => {}),
          };
        },
      }),
    );
    const lines: Array<{ msg: string; code?: string; sink?: string; err?: string }> = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _e, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    const config = (timeout: number) => testConfig(configYaml(tmp.dir, `\nsinks: { c: { type: hangs_on_close, write_timeout_ms: ${timeout} } }\nroutes: [{ name: all, to: [c] }]\n`), registry);
    relay = await testRelay(config(60_000), registry, { logger });
    void relay.startDelivery();
    await relay.app.inject(signedRequest(sampleEvent('crawl.page', { id: 'before' })));
    await until(() => delivered.length === 1);

    expect(await relay.reload(config(30_000), registry, 100)).toMatchObject({ changed: ['c'] });
    expect(lines.filter((l) => l.code === 'RELAY_ERR_SINK_CLOSE_TIMEOUT').map((l) => [l.sink, l.err])).toEqual([
      ['c', expect.stringContaining('close() of sink "c" to end within 100 ms')],
    ]);
    await relay.app.inject(signedRequest(sampleEvent('crawl.page', { id: 'after' })));
    await until(() => delivered.length === 2);
    expect(delivered).toEqual(['1:before', '2:after']);
    expect(await relay.reload(config(20_000), registry, 100)).toMatchObject({ changed: ['c'] });

    // The live instance's close() hangs too: shutdown (serve) names it and exits at its deadline.
    const steps: string[] = [];
    void relay.close(100, (step) => (steps.push(step), () => {}));
    await until(() => steps.includes('sink c: close'));
    expect(steps.filter((s) => s.includes('old instance'))).toEqual(['sink c: close (old instance, from a reload)', 'sink c: close (old instance, from a reload)']);
  });
});

describe('shutdown', () => {
  // Issue 12 item 3: close() was called in the middle of a write.
  it('closes a sink only after its write in flight ended, even one that outlives its abort', async () => {
    const order: string[] = [];
    const registry = registryWith(
      defineSink({
        type: 'stubborn',
        configSchema: Type.Object({}),
        create: () => ({
          async deliver(_event, signal) {
            order.push('write started');
            await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
            order.push('write aborted');
            await new Promise((resolve) => setTimeout(resolve, 200));
            order.push('write ended');
            throw new Error('gave up');
          },
          async close() {
            order.push('closed');
          },
        }),
      }),
    );
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    relay = await testRelay(testConfig(configYaml(tmp.dir, `\nsinks: { s: { type: stubborn } }\nroutes: [{ name: all, to: [s] }]\n`), registry), registry);
    void relay.startDelivery();
    await relay.app.inject(signedRequest(sampleEvent('crawl.page')));
    await until(() => order.length === 1);
    await relay.close(50);
    relay = undefined;
    expect(order).toEqual(['write started', 'write aborted', 'write ended', 'closed']);
  });

  it('applies a changed shutdown_timeout_ms on reload (the next shutdown reads it) without asking for a restart; a changed port still asks', async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    const registry = registryWith(new RecordingSink().definition('rec'));
    const yaml = (server: string): string => configYaml(tmp.dir, `\nserver: { ${server} }\nsinks: { s: { type: rec } }\nroutes: [{ name: all, to: [s] }]\n`);
    relay = await testRelay(testConfig(yaml('shutdown_timeout_ms: 10000'), registry), registry);
    const result = await relay.reload(testConfig(yaml('shutdown_timeout_ms: 500'), registry), registry);
    expect(result.needsRestart).toEqual([]);
    expect(relay.config.server.shutdown_timeout_ms).toBe(500);
    expect((await relay.reload(testConfig(yaml('shutdown_timeout_ms: 500, port: 9999'), registry), registry)).needsRestart).toEqual(['server']);
  });

  it('drains the sinks beside the HTTP close, and a step that throws leaves the others to run and is named', async () => {
    const order: string[] = [];
    const registry = registryWith(
      defineSink({
        type: 'noted',
        configSchema: Type.Object({}),
        create: () => ({
          async deliver() {},
          async close() {
            order.push('sink closed');
          },
        }),
      }),
    );
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    const r = await testRelay(testConfig(configYaml(tmp.dir, `\nsinks: { s: { type: noted } }\nroutes: [{ name: all, to: [s] }]\n`), registry), registry);
    void r.startDelivery();
    // An HTTP close that fails only after the sink closed: it ran beside the drain, not before it.
    const appClose = r.app.close.bind(r.app);
    Object.assign(r.app, {
      close: async () => {
        await until(() => order.includes('sink closed'));
        await appClose();
        order.push('http closed');
        throw new Error('listener would not close');
      },
    });
    const steps: string[] = [];
    const error = await r.close(50, (step) => {
      steps.push(`${step} began`);
      return () => steps.push(`${step} ended`);
    }).catch((err: unknown) => err);
    expect(error).toMatchObject({ name: 'ShutdownStepError', step: 'http server close (requests in flight)', cause: { message: 'listener would not close' } });
    expect(order).toEqual(['sink closed', 'http closed']);
    // The queue still closed, after the HTTP close ended.
    expect(steps.slice(-2)).toEqual(['queue close began', 'queue close ended']);
    expect(steps.indexOf('http server close (requests in flight) ended')).toBeLessThan(steps.indexOf('queue close began'));
  });
});
