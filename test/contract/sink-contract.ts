import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SinkRegistry } from '../../src/config/load.js';
import { DeadLetters } from '../../src/queue/dead-letters.js';
import { Queue } from '../../src/queue/queue.js';
import type { Relay } from '../../src/relay.js';
import { configYaml, tempDir, testConfig, testRelay } from '../helpers/relay.js';
import { until } from '../helpers/sinks.js';
import { sampleEvent, signedRequest } from '../helpers/webhooks.js';

/** A destination a sink writes to, which the contract can break, slow down and inspect. */
export interface ContractDestination {
  /** The sink's YAML options (indented by the suite). */
  options: string;
  /** Job ids of the events the destination holds, in arrival order. */
  received(): string[] | Promise<string[]>;
  /** Refuse writes for a while (a transient outage). */
  refuse(): void | Promise<void>;
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

    const pending = (r: Relay): number => r.queue.stats().pending.get('sink')?.count ?? 0;
    const send = async (r: Relay, jobs: string[]): Promise<void> => {
      for (const [n, job] of jobs.entries()) {
        const answer = await r.app.inject(signedRequest(sampleEvent('crawl.failed', { id: job, error: `failure ${n}` })));
        expect(answer.statusCode).toBe(200);
      }
    };

    it('delivers every event, each job in order', async () => {
      const r = await start();
      const jobs = ['a', 'b', 'a', 'c', 'a'].map((j, n) => `${j}-${n}`);
      await send(r, jobs);
      await until(() => pending(r) === 0, 10_000);
      expect(await destination!.received()).toEqual(jobs);
    });

    it('keeps events through an outage and delivers them all once the destination is back', async () => {
      const r = await start();
      await destination!.refuse();
      await send(r, ['o-1', 'o-2', 'o-3']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(pending(r)).toBe(3);
      await destination!.restore();
      await until(() => pending(r) === 0, 10_000);
      const received = await destination!.received();
      expect([...new Set(received)]).toEqual(['o-1', 'o-2', 'o-3']);
    });

    it('dead-letters an event the destination refuses for good, and goes on with the next', async () => {
      const r = await start('{ schedule_ms: [50], max_attempts: 3 }');
      if (!destination!.refusePermanently) {
        // Without a permanent answer, the contract is that retries end in the dead-letter queue.
        await destination!.refuse();
      } else await destination!.refusePermanently();
      await send(r, ['p-1']);
      await until(() => new DeadLetters(r.queue.db).list().length === 1, 10_000);
      await destination!.restore();
      await send(r, ['p-2']);
      await until(() => pending(r) === 0, 10_000);
      expect(await destination!.received()).toEqual(['p-2']);
    });

    if (target.slowable === false) return;
    it('lets the relay close during a slow write without losing the events', async () => {
      const r = await start();
      await destination!.slowDown!(2000);
      await send(r, ['s-1', 's-2']);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const started = Date.now();
      await r.close(300);
      relay = undefined;
      expect(Date.now() - started).toBeLessThan(2000);
      const queue = new Queue({ dir: join(dir, 'queue'), maxBytes: 1 << 30, dedupeWindowSeconds: 0 });
      try {
        expect(queue.stats().pending.get('sink')?.count).toBe(2);
      } finally {
        queue.close();
      }
    });
  });
}
