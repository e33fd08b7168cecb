import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SinkRegistry } from '../../src/config/load.js';
import { openSqliteStore } from '../../src/queue/sqlite/store.js';
import type { Relay } from '../../src/relay.js';
import { deadLettersOf, pendingOf } from '../helpers/queue.js';
import { configYaml, tempDir, testConfig, testRelay } from '../helpers/relay.js';
import { until } from '../helpers/sinks.js';
import { sampleEvent, signedRequest } from '../helpers/webhooks.js';

/** A destination a sink writes to, which the contract can break, slow down and inspect. */
export interface ContractDestination {
  /** The sink's YAML options (indented by the suite). */
  options: string;
  /** `<job id>:<error text>` of each event the destination holds, in arrival order. */
  received(): string[] | Promise<string[]>;
  /** Refuse writes for a while (a transient outage). */
  refuse(): void | Promise<void>;
  /** Refuse the next write only, then accept again (per-event destinations). */
  refuseOnce?(): void | Promise<void>;
  /** Writes the destination saw given up by the relay before it answered. */
  abandoned?(): number;
  /** Refuse one write so that no retry can help (when the destination has such an answer). */
  refusePermanently?(): void | Promise<void>;
  /** Answer every write after `ms` (absent for destinations that cannot be slowed). */
  slowDown?(ms: number): void | Promise<void>;
  /** Back to normal. */
  restore(): void | Promise<void>;
  close(): Promise<void>;
}

export interface ContractTarget {
  name: string;
  type: string;
  registry: () => Promise<SinkRegistry> | SinkRegistry;
  destination: (dir: string) => Promise<ContractDestination>;
  /** False for destinations that answer too fast to be caught mid-write (a local file). */
  slowable?: boolean;
}

/**
 * What every sink, built in or plugin, must do: deliver, keep events through an outage,
 * dead-letter what cannot succeed, and let the relay close mid-write without losing any.
 */
export function sinkContract(target: ContractTarget): void {
  describe(`sink contract: ${target.name}`, () => {
    let relay: Relay | undefined;
    let destination: ContractDestination | undefined;
    let cleanup = (): void => {};
    let dir = '';

    afterEach(async () => {
      await relay?.close(500);
      relay = undefined;
      await destination?.close();
      cleanup();
    });

    // schedule_ms overrides any sink's own default schedule (webhook: minutes).
    async function start(retry = '{ schedule_ms: [50, 100, 200], max_attempts: 50 }'): Promise<Relay> {
      const tmp = tempDir(`relay-contract-${target.type}-`);
      dir = tmp.dir;
      cleanup = tmp.cleanup;
      destination = await target.destination(dir);
      const options = destination.options.split('\n').map((l) => `    ${l}`).join('\n');
      const registry = await target.registry();
      const yaml = configYaml(dir, `\nsinks:\n  sink:\n    type: ${target.type}\n    retry: ${retry}\n    write_timeout_ms: 5000\n${options}\nroutes: [{ name: all, to: [sink] }]\n`);
      relay = await testRelay(testConfig(yaml, registry), registry);
      relay.startDelivery();
      return relay;
    }

    const pending = (r: Relay): number => pendingOf(r, 'sink');
    /** Sends one failed-job event per entry; returns what the destination should hold, `<job>:failure <n>`. */
    const send = async (r: Relay, jobs: string[]): Promise<string[]> => {
      for (const [n, job] of jobs.entries()) {
        const answer = await r.app.inject(signedRequest(sampleEvent('crawl.failed', { id: job, error: `failure ${n}` })));
        expect(answer.statusCode).toBe(200);
      }
      return jobs.map((job, n) => `${job}:failure ${n}`);
    };
    const ofJob = (events: readonly string[], job: string): string[] => events.filter((e) => e.startsWith(`${job}:`));

    it('delivers every event once, each job in order', async () => {
      const r = await start();
      const jobs = ['a', 'b', 'a', 'c', 'a', 'b'];
      const sent = await send(r, jobs);
      await until(() => pending(r) === 0, 10_000);
      const received = await destination!.received();
      expect([...received].sort()).toEqual([...sent].sort());
      for (const job of ['a', 'b', 'c']) expect(ofJob(received, job)).toEqual(ofJob(sent, job));
    });

    // Issue 12 item 1: a refused first event made sinks go on with the job's later events,
    // and the relay then sent those again (2,3,1,2,3).
    if (target.slowable !== false) {
      it('after a job\'s first event is refused once, delivers the job\'s events in order, each once', async () => {
        const r = await start();
        await destination!.refuseOnce!();
        const sent = await send(r, ['job-1', 'job-1', 'job-1']);
        await until(() => pending(r) === 0, 10_000);
        expect(await destination!.received()).toEqual(sent);
      });
    }

    it('keeps events through an outage and delivers them all once the destination is back', async () => {
      const r = await start();
      await destination!.refuse();
      const sent = await send(r, ['o-1', 'o-2', 'o-3']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(pending(r)).toBe(3);
      await destination!.restore();
      await until(() => pending(r) === 0, 10_000);
      const received = await destination!.received();
      expect([...new Set(received)].sort()).toEqual(sent);
    });

    it('dead-letters an event the destination refuses for good, and goes on with the next', async () => {
      const r = await start('{ schedule_ms: [50], max_attempts: 3 }');
      if (!destination!.refusePermanently) {
        // Without a permanent answer, the contract is that retries end in the dead-letter queue.
        await destination!.refuse();
      } else await destination!.refusePermanently();
      await send(r, ['p-1']);
      await until(async () => (await deadLettersOf(r)).length === 1, 10_000);
      await destination!.restore();
      await r.app.inject(signedRequest(sampleEvent('crawl.failed', { id: 'p-2', error: 'failure 1' })));
      await until(() => pending(r) === 0, 10_000);
      expect(await destination!.received()).toEqual(['p-2:failure 1']);
    });

    if (target.slowable === false) return;
    it('lets the relay close during a slow write: the write is aborted, no event lost, no attempt counted', async () => {
      const r = await start();
      await destination!.slowDown!(60_000);
      await send(r, ['s-1', 's-2']);
      await new Promise((resolve) => setTimeout(resolve, 200));
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
