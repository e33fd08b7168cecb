import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sign } from '../src/ingress/verify.js';
import { CLI, kill, startRelayProcess, type RelayProcess } from './helpers/process.js';
import { dlq } from '../src/cli/dlq.js';
import { SECRET, configYaml, registryWith, tempDir, testConfig, testRelay, writeArchiveConfig } from './helpers/relay.js';
import { RecordingSink, until } from './helpers/sinks.js';

let dir: string;
let cleanup: () => void;
let running: RelayProcess | undefined;
let config: string;

beforeEach(() => {
  ({ dir, cleanup } = tempDir('relay-dlq-'));
  config = writeArchiveConfig(dir, join(dir, 'out'), '{ max_attempts: 2, initial_delay_ms: 10 }');
});

afterEach(async () => {
  if (running) await kill(running, 'SIGTERM');
  running = undefined;
  cleanup();
});

// Each call starts a Node process (~1 s of CPU, several seconds on a loaded machine): nine calls.
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, 'dlq', ...args, '--config', config], { encoding: 'utf8' });

describe('dead letters from the command line', () => {
  it('lists, shows and replays parked deliveries into a running relay', async () => {
    // events.jsonl as a folder: every write fails with EISDIR until it is removed.
    const jsonl = join(dir, 'out', 'events.jsonl');
    mkdirSync(jsonl, { recursive: true });
    running = await startRelayProcess(config);
    for (const job of ['j1', 'j2']) {
      const body = JSON.stringify({ success: false, type: 'crawl.failed', id: job, data: [], error: 'boom' });
      const answer = await fetch(`${running.url}/webhooks/firecrawl`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-firecrawl-signature': sign(SECRET, body) },
        body,
      });
      expect(answer.status).toBe(200);
    }
    await until(() => cli('list').stdout.includes('2 dead letters'), 10_000, 100);
    const list = cli('list');
    expect(list.stdout).toMatch(/archive\tcrawl.failed\tj1\tattempts=2\t.*EISDIR/);

    const show = cli('show', list.stdout.split('\t')[0]!);
    expect(JSON.parse(show.stdout)).toMatchObject({ sink: 'archive', jobId: 'j1', body: { id: 'j1', error: 'boom' } });

    expect(cli('replay').status).toBe(2);
    rmSync(jsonl, { recursive: true });
    const replay = cli('replay', '--job', 'j2');
    expect(replay.stdout.trim()).toBe('replayed 1 dead letter');
    await until(() => existsSync(jsonl) && readFileSync(jsonl, 'utf8').includes('"j2"'), 10_000, 100);
    expect(cli('list').stdout).toMatch(/\tj1\t[\s\S]*1 dead letter\n$/);
    expect(cli('drop', '--all').stdout.trim()).toBe('dropped 1 dead letter');
    expect(cli('list').stdout.trim()).toBe('0 dead letters');
  }, 120_000);
});

describe('dead letters whose stored body does not parse', () => {
  // A 0.1 queue stored bodies with their BOM; any stored body may be damaged.
  it('are shown by GET /admin/dead-letters/:id and dlq show: a BOM stripped, else the body as text with a note', async () => {
    const sink = new RecordingSink();
    const registry = registryWith(sink.definition('rec'));
    const token = 't'.repeat(32);
    const relayConfig = testConfig(configYaml(dir, `\nadmin: { token: "${token}" }\nsinks: { r: { type: rec } }\nroutes: [{ name: all, to: [r] }]\n`), registry);
    const relay = await testRelay(relayConfig, registry);
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const stored = [Buffer.concat([bom, Buffer.from('{"id":"A","data":[]}')]), Buffer.concat([bom, Buffer.from('{"id":"B","data":[')])];
    for (const [i, body] of stored.entries()) {
      await relay.queue.enqueue({ source: 'firecrawl', type: 'crawl.page', jobId: `J${i}`, dedupeKey: null, body, sinks: ['r'] });
    }
    await relay.queue.parkSinksExcept(new Set(), () => 'parked for the test');
    const [a, b] = await relay.queue.deadLetters.list();
    const get = async (id: number) =>
      relay.app.inject({ method: 'GET', url: `/admin/dead-letters/${id}`, headers: { authorization: `Bearer ${token}` } });
    const answerA = await get(a!.id);
    expect(answerA.statusCode).toBe(200);
    expect(answerA.json()).toMatchObject({ jobId: 'J0', body: { id: 'A' } });
    expect(answerA.json()).not.toHaveProperty('bodyNote');
    const answerB = await get(b!.id);
    expect(answerB.statusCode).toBe(200);
    expect(answerB.json()).toMatchObject({ jobId: 'J1', body: '{"id":"B","data":[', bodyNote: expect.stringMatching(/not valid JSON/) });
    await relay.close(100);

    const lines: string[] = [];
    await dlq(relayConfig, { action: 'show', ids: [a!.id, b!.id], filter: {}, all: false }, (line) => lines.push(line));
    expect(lines.map((l) => JSON.parse(l) as { body: unknown })).toMatchObject([{ body: { id: 'A' } }, { body: '{"id":"B","data":[' }]);
  });
});
