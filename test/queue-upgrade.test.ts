import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import type { RelayEvent } from '../src/plugin-api/index.js';
import type { Relay } from '../src/relay.js';
import { configYaml, registryWith, tempDir, testConfig, testRelay } from './helpers/relay.js';
import { RecordingSink, until } from './helpers/sinks.js';

// The fixture was written by release 0.1 (120b885; make.mjs beside it). hook: A1 failed once
// with A2–A4 held behind it, B3 pending, B2 a dead letter; file: A3, A4, C2 pending, C1 dead.
const FIXTURE = join(import.meta.dirname, 'fixtures/queue-v1/relay.db');

let relay: Relay | undefined;
let cleanup = (): void => {};
afterEach(async () => {
  await relay?.close(500);
  relay = undefined;
  cleanup();
});

const pages = (events: readonly RelayEvent[]): string[] =>
  events.map((e) => `${e.jobId}${(e.payload.metadata as { n: number }).n}`);

/** The order each job's pages arrived in, job by job. */
const perJob = (events: readonly RelayEvent[]): Record<string, string[]> => {
  const out: Record<string, string[]> = {};
  for (const page of pages(events)) (out[page[0]!] ??= []).push(page);
  return out;
};

it('a relay of this release opens a queue 0.1 wrote, upgrades it and drains it in per-job order', async () => {
  const tmp = tempDir('relay-upgrade-');
  cleanup = tmp.cleanup;
  mkdirSync(join(tmp.dir, 'queue'));
  copyFileSync(FIXTURE, join(tmp.dir, 'queue', 'relay.db'));
  const hook = new RecordingSink();
  const file = new RecordingSink();
  const registry = registryWith(hook.definition('rec_hook'), file.definition('rec_file'));
  // Its dead letters failed in 2023: keep them past the default 7 days.
  const yaml = configYaml(tmp.dir, `\ndead_letters: { retention_seconds: 315360000 }\nsinks:\n  hook: { type: rec_hook }\n  file: { type: rec_file }\nroutes: [{ name: all, to: [hook, file] }]\n`);
  relay = await testRelay(testConfig(yaml, registry), registry);
  await relay.startDelivery();

  await until(() => hook.events.length === 5 && file.events.length === 3);
  expect(perJob(hook.events)).toEqual({ A: ['A1', 'A2', 'A3', 'A4'], B: ['B3'] });
  expect(perJob(file.events)).toEqual({ A: ['A3', 'A4'], C: ['C2'] });
  // A1 had failed once under 0.1: this is its second attempt.
  expect(hook.events.find((e) => pages([e])[0] === 'A1')!.attempt).toBe(2);

  expect((await relay.queue.deadLetters.list()).map((d) => `${d.sink}:${d.jobId}`)).toEqual(['file:C', 'hook:B']);
  expect(await relay.queue.deadLetters.replay({})).toBe(2);
  await until(() => hook.events.length === 6 && file.events.length === 4);
  expect(pages(hook.events).at(-1)).toBe('B2');
  expect(pages(file.events).at(-1)).toBe('C1');
  expect([...relay.queue.counters().values()].every((c) => c.pending === 0 && c.deadLetters === 0)).toBe(true);
});
