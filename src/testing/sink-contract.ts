import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { sign } from '../ingress/verify.js';
import type { SinkDefinition } from '../plugin-api/types.js';
import { openSqliteStore } from '../queue/sqlite/store.js';
import { Relay } from '../relay.js';
import { builtinSinks } from '../sinks/registry.js';

/** A destination a sink writes to, which the contract can break, slow down and inspect. */
export interface ContractDestination {
  /** The sink's own options (as under `sinks.<name>` in relay.config.yaml, less `type`). */
  options: Record<string, unknown>;
  /** `<job id>:<error text>` of each event the destination holds, in arrival order. */
  received(): string[] | Promise<string[]>;
  /** Refuse writes for a while (a transient outage). */
  refuse(): void | Promise<void>;
  /** Refuse the next write only, then accept again (destinations that can). */
  refuseOnce?(): void | Promise<void>;
  /** Refuse the events of one job only while others go through (a partial failure). */
  refuseJob?(job: string): void | Promise<void>;
  /** Refuse one write so that no retry can help (when the destination has such an answer). */
  refusePermanently?(): void | Promise<void>;
  /** Answer every write after `ms` (absent for destinations that cannot be slowed). */
  slowDown?(ms: number): void | Promise<void>;
  /** Writes the destination saw given up by the sink before it answered (its abort honoured). */
  abandoned?(): number;
  /** Back to normal. */
  restore(): void | Promise<void>;
  close(): Promise<void>;
}

export interface ContractTarget {
  /** Shown in the test names. */
  name: string;
  /** The sink under test: a plugin's default export, or a built-in's definition. */
  sink: SinkDefinition<any>;
  /** A fresh destination for each test; `dir` is a temporary folder it may use. */
  destination: (dir: string) => Promise<ContractDestination>;
}

const SECRET = 'contract-secret';
const SAMPLES = new URL('../../samples/', import.meta.url);

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The sink contract every sink of the relay passes, built in or plugin: run it against
 * yours with vitest. Each test starts a real relay in-process (queue on disk in a temporary
 * folder, no listening socket) with your sink as `sink`, posts signed `crawl.failed`
 * webhooks, and reads what your destination received as `<job id>:<error text>`.
 *
 * It checks: every event delivered once, each job in order; a refused first event retried
 * before the job goes on; an outage ridden out; a permanent refusal dead-lettered while the
 * next event goes through; one failing job not holding back the others; a slow write
 * aborted at `write_timeout_ms` and at shutdown, with no event lost and no attempt counted.
 */
export function sinkContract(target: ContractTarget): void {
  describe(`sink contract: ${target.name}`, () => {
    let relay: Relay | undefined;
    let destination: ContractDestination | undefined;
    let dir = '';
    const controls = new Set<keyof ContractDestination>();
    const can = (control: keyof ContractDestination): boolean => controls.has(control);

    // Which controls the destination offers: tests that need one it lacks are skipped, by name.
    beforeAll(async () => {
      const scratch = mkdtempSync(join(tmpdir(), 'relay-contract-probe-'));
      try {
        const probe = await target.destination(scratch);
        for (const [key, value] of Object.entries(probe)) if (typeof value === 'function') controls.add(key as keyof ContractDestination);
        await probe.close();
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    });

    afterEach(async () => {
      await relay?.close(500);
      relay = undefined;
      await destination?.close();
      destination = undefined;
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    // schedule_ms overrides any sink's own default schedule (the webhook sink's: minutes).
    async function start(settings: Record<string, unknown> = {}): Promise<Relay> {
      dir = mkdtempSync(join(tmpdir(), 'relay-contract-'));
      destination = await target.destination(dir);
      const registry = new Map(builtinSinks());
      registry.set(target.sink.type, target.sink);
      const sink = {
        type: target.sink.type,
        retry: { schedule_ms: [50, 100, 200], max_attempts: 50 },
        write_timeout_ms: 5000,
        ...settings,
        ...destination.options,
      };
      const yaml = [
        `sources: { firecrawl: { path: /webhooks/firecrawl, secrets: [${SECRET}] } }`,
        `queue: { dir: ${JSON.stringify(join(dir, 'queue'))} }`,
        `sinks: { sink: ${JSON.stringify(sink)} }`,
        'routes: [{ name: all, to: [sink] }]',
      ].join('\n');
      const config = parseConfig(yaml, 'contract.yaml', { registry, dir });
      relay = await Relay.create({ config, registry, logger: pino({ level: 'silent' }) });
      void relay.startDelivery();
      return relay;
    }

    const pending = (r: Relay): number => r.queue.counters().get('sink')?.pending ?? 0;
    const deadLetters = (r: Relay): number => r.queue.counters().get('sink')?.deadLetters ?? 0;
    /** Sends one failed-job event per entry; returns what the destination should hold, `<job>:failure <n>`. */
    const send = async (r: Relay, jobs: string[], from = 0): Promise<string[]> => {
      const sample = JSON.parse(readFileSync(new URL('crawl.failed.json', SAMPLES), 'utf8')) as Record<string, unknown>;
      for (const [n, id] of jobs.entries()) {
        const payload = JSON.stringify({ ...sample, id, error: `failure ${from + n}` });
        const headers = { 'content-type': 'application/json', 'x-firecrawl-signature': sign(SECRET, payload) };
        const answer = await r.app.inject({ method: 'POST', url: '/webhooks/firecrawl', headers, payload });
        expect(answer.statusCode, answer.body).toBe(200);
      }
      return jobs.map((job, n) => `${job}:failure ${from + n}`);
    };
    const ofJob = (events: readonly string[], job: string): string[] => events.filter((e) => e.startsWith(`${job}:`));

    it('delivers every event once, each job in order', async () => {
      const r = await start();
      const sent = await send(r, ['a', 'b', 'a', 'c', 'a', 'b']);
      await until(() => pending(r) === 0);
      const received = await destination!.received();
      expect([...received].sort()).toEqual([...sent].sort());
      for (const job of ['a', 'b', 'c']) expect(ofJob(received, job)).toEqual(ofJob(sent, job));
    });

    it("retries a job's refused first event before its later ones, each delivered once, in order", async ({ skip }) => {
      if (!can('refuseOnce')) skip();
      const r = await start();
      await destination!.refuseOnce!();
      const sent = await send(r, ['job-1', 'job-1', 'job-1']);
      await until(() => pending(r) === 0);
      expect(await destination!.received()).toEqual(sent);
    });

    it('keeps events through an outage and delivers them all once the destination is back', async () => {
      const r = await start();
      await destination!.refuse();
      const sent = await send(r, ['o-1', 'o-2', 'o-3']);
      await pause(300);
      expect(pending(r)).toBe(3);
      await destination!.restore();
      await until(() => pending(r) === 0);
      // At least once: an event may arrive twice after an outage, never be missing.
      expect([...new Set(await destination!.received())].sort()).toEqual(sent);
    });

    it('dead-letters an event the destination refuses for good, and goes on with the next', async () => {
      const r = await start({ retry: { schedule_ms: [50], max_attempts: 3 } });
      // Without a permanent answer, retries running out end in the dead letters too.
      if (destination!.refusePermanently) await destination!.refusePermanently();
      else await destination!.refuse();
      await send(r, ['p-1']);
      await until(() => deadLetters(r) === 1);
      await destination!.restore();
      const next = await send(r, ['p-2'], 1);
      await until(() => pending(r) === 0);
      expect(await destination!.received()).toEqual(next);
    });

    it('delivers the other jobs while one job fails (a partial failure), then that job in order', async ({ skip }) => {
      if (!can('refuseJob')) skip();
      const r = await start();
      await destination!.refuseJob!('stuck');
      const sent = await send(r, ['stuck', 'ok-1', 'stuck', 'ok-2']);
      await until(async () => (await destination!.received()).length === 2);
      await pause(200);
      expect(await destination!.received()).toEqual([sent[1], sent[3]]);
      await destination!.restore();
      await until(() => pending(r) === 0);
      expect(ofJob(await destination!.received(), 'stuck')).toEqual([sent[0], sent[2]]);
    });

    it('honours the abort of a write past write_timeout_ms, and retries the event', async ({ skip }) => {
      if (!can('slowDown') || !can('abandoned')) skip();
      const r = await start({ write_timeout_ms: 200 });
      await destination!.slowDown!(60_000);
      const sent = await send(r, ['t-1']);
      await until(() => destination!.abandoned!() >= 1);
      await destination!.restore();
      await until(() => pending(r) === 0);
      expect([...new Set(await destination!.received())]).toEqual(sent);
      expect(deadLetters(r)).toBe(0);
    });

    it('lets the relay close during a slow write: the write is aborted, no event lost, no attempt counted', async ({ skip }) => {
      if (!can('slowDown')) skip();
      const r = await start();
      await destination!.slowDown!(60_000);
      await send(r, ['s-1', 's-2']);
      await pause(200);
      expect(destination!.abandoned!()).toBe(0);
      await r.close(300);
      relay = undefined;
      // The sink honoured the abort: its request was given up, not left to run.
      await until(() => destination!.abandoned!() >= 1, 5000);
      const store = openSqliteStore({ dir: join(dir, 'queue'), maxBytes: 1 << 30, dedupeWindowSeconds: 0 });
      try {
        expect(store.counters().get('sink')?.pending).toBe(2);
        const lanes = await store.claim('sink', { lanes: 10, events: 10, bytes: 1 << 20 });
        expect(lanes.flatMap((lane) => lane.deliveries.map((d) => d.attempts))).toEqual([0, 0]);
      } finally {
        await store.close();
      }
    });

  });
}
