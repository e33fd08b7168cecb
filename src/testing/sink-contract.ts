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
import { ABORT_IGNORED_AFTER_MS } from '../delivery/timed-write.js';
import { builtinSinks } from '../sinks/registry.js';
import { describeContractState, until } from './wait.js';

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
  /**
   * What the suite sends. `failed` (default): `crawl.failed` events, `<error text>` in their
   * `error`. `pages`: `crawl.page` events for a sink that reads `pagesOf(event)`, each
   * page's `markdown` the `<error text>` (one page per event, three in the pages case), so
   * `received()` lists `<job id>:<markdown>` per page.
   */
  events?: 'failed' | 'pages';
  /** The sink under test: a plugin's default export, or a built-in's definition. */
  sink: SinkDefinition<any>;
  /**
   * Why the sink cannot honour its write's abort (a client that takes no signal), if so: the
   * case that checks it is then skipped, with this reason, instead of failing.
   */
  ignoresAbort?: string;
  /** A fresh destination for each test; `dir` is a temporary folder it may use. */
  destination: (dir: string) => Promise<ContractDestination>;
}

const SECRET = 'contract-secret';
const SAMPLES = new URL('../../samples/', import.meta.url);

/**
 * Each case's own timeout, above the sum of its waits (`until` gives up after 10 s): a case
 * that fails says what it waited for and what arrived, not vitest's "Test timed out in 5000ms".
 */
const CASE_TIMEOUT_MS = 60_000;

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
 * aborted at `write_timeout_ms` (the relay logs no RELAY_ERR_SINK_ABORT_IGNORED: the write
 * ended when its `signal` fired) and at shutdown, with no event lost and no attempt counted.
 */
export function sinkContract(target: ContractTarget): void {
  describe(`sink contract: ${target.name}`, () => {
    let relay: Relay | undefined;
    let destination: ContractDestination | undefined;
    let dir = '';
    const controls = new Set<keyof ContractDestination>();
    /** Skips the test, naming the controls the destination lacks, unless it has them all. */
    const needs = (skip: (note: string) => never, ...wanted: Array<keyof ContractDestination>): void => {
      const lacking = wanted.filter((control) => !controls.has(control));
      if (lacking.length > 0) skip(`skipped: the destination of "${target.name}" has no ${lacking.map((c) => `${c}()`).join(', ')}`);
    };

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
      // Warnings and errors kept, for the codes the relay logs (a write that ignored its abort).
      const logger = pino({ level: 'warn' }, { write: (line: string) => void logged.push((JSON.parse(line) as { code?: string }).code ?? '') });
      relay = await Relay.create({ config, registry, logger });
      void relay.startDelivery();
      return relay;
    }

    const pending = (r: Relay): number => r.queue.counters().get('sink')?.pending ?? 0;
    const deadLetters = (r: Relay): number => r.queue.counters().get('sink')?.deadLetters ?? 0;
    const pages = target.events === 'pages';
    const failed = JSON.parse(readFileSync(new URL('crawl.failed.json', SAMPLES), 'utf8')) as Record<string, unknown>;
    const page = JSON.parse(readFileSync(new URL('crawl.page.json', SAMPLES), 'utf8')) as { data: Array<{ metadata: object }> };
    /** A sample event of `job` whose text is `text`: a failed job, or a page per text. */
    const sample = (job: string, texts: string[]): Record<string, unknown> => {
      if (!pages) return { ...failed, id: job, error: texts[0] };
      const data = texts.map((text, n) => ({
        markdown: text,
        metadata: { ...page.data[0]!.metadata, url: `https://example.com/${job}/${n}`, sourceURL: `https://example.com/${job}/${n}`, title: text, scrapeId: `${job}-${text.replace(/\W+/g, '-')}` },
      }));
      return { ...page, id: job, data };
    };
    /** Sends one event per entry of `jobs` (each a list of page texts); returns what the destination should hold. */
    const post = async (r: Relay, events: Array<[job: string, texts: string[]]>): Promise<string[]> => {
      for (const [job, texts] of events) {
        const payload = JSON.stringify(sample(job, texts));
        const headers = { 'content-type': 'application/json', 'x-firecrawl-signature': sign(SECRET, payload) };
        const answer = await r.app.inject({ method: 'POST', url: '/webhooks/firecrawl', headers, payload });
        expect(answer.statusCode, answer.body).toBe(200);
      }
      const held = events.flatMap(([job, texts]) => texts.map((text) => `${job}:${text}`));
      expected.push(...held);
      return held;
    };
    /** Sends one failed-job event (or one-page event) per entry; returns `<job>:failure <n>` of each. */
    const send = (r: Relay, jobs: string[], from = 0): Promise<string[]> => post(r, jobs.map((job, n) => [job, [`failure ${from + n}`]]));
    const ofJob = (events: readonly string[], job: string): string[] => events.filter((e) => e.startsWith(`${job}:`));

    /** What was sent in this test, in order: the failure messages name the next one missing. */
    let expected: string[] = [];
    /** Where the test stands, for a failure message: what was waited for, what arrived, what did not. */
    const state = (waitedFor: string) => async (): Promise<string> => {
      // Read while the destination refuses, it may throw: the message says so instead.
      const received = await Promise.resolve()
        .then(() => destination?.received() ?? [])
        .catch((err: Error) => [`(unreadable: ${err.message})`]);
      return describeContractState({
        target: target.name,
        test: expect.getState().currentTestName?.split(' > ').at(-1) ?? '?',
        waitedFor,
        sent: expected,
        received,
        queue: relay?.queue.counters().get('sink'),
      });
    };
    const drained = (r: Relay): Promise<void> => until(() => pending(r) === 0, state('every event to leave the queue (delivered or dead-lettered)'));
    /** The `code` of each warning and error the relay logged in this test. */
    let logged: string[] = [];
    afterEach(() => {
      expected = [];
      logged = [];
    });

    it('delivers every event once, each job in order', async () => {
      const r = await start();
      const sent = await send(r, ['a', 'b', 'a', 'c', 'a', 'b']);
      await drained(r);
      const received = await destination!.received();
      expect([...received].sort()).toEqual([...sent].sort());
      for (const job of ['a', 'b', 'c']) expect(ofJob(received, job)).toEqual(ofJob(sent, job));
    }, CASE_TIMEOUT_MS);

    if (pages) {
      it('delivers every page of an event, in order (a pages sink)', async () => {
        const r = await start();
        const sent = await post(r, [['pg', ['page 0', 'page 1', 'page 2']], ['pg', ['page 3']]]);
        await drained(r);
        expect(await destination!.received()).toEqual(sent);
      }, CASE_TIMEOUT_MS);
    }

    it("retries a job's refused first event before its later ones, each delivered once, in order", async ({ skip }) => {
      needs(skip, 'refuseOnce');
      const r = await start();
      await destination!.refuseOnce!();
      const sent = await send(r, ['job-1', 'job-1', 'job-1']);
      await drained(r);
      expect(await destination!.received()).toEqual(sent);
    }, CASE_TIMEOUT_MS);

    it('keeps events through an outage and delivers them all once the destination is back', async () => {
      const r = await start();
      await destination!.refuse();
      const sent = await send(r, ['o-1', 'o-2', 'o-3']);
      await pause(300);
      if (pending(r) !== 3) expect.fail(await state('the 3 events to wait in the queue while the destination refuses')());
      await destination!.restore();
      await drained(r);
      // At least once: an event may arrive twice after an outage, never be missing.
      expect([...new Set(await destination!.received())].sort()).toEqual(sent);
    }, CASE_TIMEOUT_MS);

    it('dead-letters an event the destination refuses for good, and goes on with the next', async () => {
      const r = await start({ retry: { schedule_ms: [50], max_attempts: 3 } });
      // Without a permanent answer, retries running out end in the dead letters too.
      if (destination!.refusePermanently) await destination!.refusePermanently();
      else await destination!.refuse();
      await send(r, ['p-1']);
      await until(() => deadLetters(r) === 1, state('p-1 to be dead-lettered'));
      expected = [];
      await destination!.restore();
      const next = await send(r, ['p-2'], 1);
      await drained(r);
      expect(await destination!.received()).toEqual(next);
    }, CASE_TIMEOUT_MS);

    it('delivers the other jobs while one job fails (a partial failure), then that job in order', async ({ skip }) => {
      needs(skip, 'refuseJob');
      const r = await start();
      await destination!.refuseJob!('stuck');
      const sent = await send(r, ['stuck', 'ok-1', 'stuck', 'ok-2']);
      await until(async () => (await destination!.received()).length === 2, state('ok-1 and ok-2 to arrive while job "stuck" is refused'));
      await pause(200);
      expect(await destination!.received()).toEqual([sent[1], sent[3]]);
      await destination!.restore();
      await drained(r);
      expect(ofJob(await destination!.received(), 'stuck')).toEqual([sent[0], sent[2]]);
    }, CASE_TIMEOUT_MS);

    it('honours the abort of a write past write_timeout_ms, and retries the event', async ({ skip }) => {
      needs(skip, 'slowDown');
      if (target.ignoresAbort) skip(`skipped: "${target.name}" cannot honour its abort: ${target.ignoresAbort}`);
      const r = await start({ write_timeout_ms: 200 });
      await destination!.slowDown!(60_000);
      const sent = await send(r, ['t-1']);
      await until(() => logged.includes('RELAY_ERR_SINK_TIMEOUT'), state('the write to outlive write_timeout_ms: 200 (RELAY_ERR_SINK_TIMEOUT logged)'));
      // The relay logs RELAY_ERR_SINK_ABORT_IGNORED of a write still running ABORT_IGNORED_AFTER_MS
      // after its abort: that timer started first, so it has fired by the end of this pause.
      await pause(ABORT_IGNORED_AFTER_MS + 300);
      if (logged.includes('RELAY_ERR_SINK_ABORT_IGNORED')) {
        expect.fail(
          `sink contract "${target.name}": the write went on after the relay aborted its \`signal\` at write_timeout_ms: 200 (RELAY_ERR_SINK_ABORT_IGNORED logged): pass \`signal\` to every I/O call of the sink`,
        );
      }
      // The destination saw the request given up, where it can tell.
      if (destination!.abandoned) expect(destination!.abandoned()).toBeGreaterThanOrEqual(1);
      await destination!.restore();
      await drained(r);
      expect([...new Set(await destination!.received())]).toEqual(sent);
      expect(deadLetters(r)).toBe(0);
    }, CASE_TIMEOUT_MS);

    it('lets the relay close during a slow write: the write is aborted, no event lost, no attempt counted', async ({ skip }) => {
      needs(skip, 'slowDown');
      const r = await start();
      await destination!.slowDown!(60_000);
      await send(r, ['s-1', 's-2']);
      await pause(200);
      expect(destination!.abandoned?.() ?? 0).toBe(0);
      await r.close(300);
      relay = undefined;
      // The sink honoured the abort: its request was given up, not left to run.
      if (destination!.abandoned) await until(() => destination!.abandoned!() >= 1, state('the sink to give up its write when the relay closed'), 5000);
      const store = openSqliteStore({ dir: join(dir, 'queue'), maxBytes: 1 << 30, dedupeWindowSeconds: 0 });
      try {
        expect(store.counters().get('sink')?.pending).toBe(2);
        const lanes = await store.claim('sink', { lanes: 10, events: 10, bytes: 1 << 20 });
        expect(lanes.flatMap((lane) => lane.deliveries.map((d) => d.attempts))).toEqual([0, 0]);
      } finally {
        await store.close();
      }
    }, CASE_TIMEOUT_MS);
  });
}
