import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kill, startRelayProcess, type RelayProcess } from './helpers/process.js';
import { startReceiver } from './helpers/receiver.js';
import { configYaml, tempDir } from './helpers/relay.js';
import { until } from './helpers/sinks.js';
import { postSigned } from './helpers/webhooks.js';

let dir: string;
let cleanup: () => void;
let running: RelayProcess | undefined;

beforeEach(() => {
  ({ dir, cleanup } = tempDir('relay-ops-'));
});

afterEach(async () => {
  if (running && running.child.exitCode === null && running.child.signalCode === null) await kill(running);
  running = undefined;
  cleanup();
});

function post(url: string, job: string, n: number): Promise<number> {
  return postSigned(url, JSON.stringify({ success: true, type: 'crawl.page', id: job, data: [{ markdown: `# ${n}`, metadata: { url: `https://e.com/${n}` } }], metadata: { n } }));
}

const lines = (file: string): Array<Record<string, any>> =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];

describe('graceful shutdown', () => {
  it('on SIGTERM under load: stops taking webhooks, exits 0, and delivers every acked event after the restart', async () => {
    const receiver = await startReceiver((_q, response) => setTimeout(() => response.end('ok'), 100));
    try {
      const config = join(dir, 'relay.config.yaml');
      writeFileSync(
        config,
        configYaml(dir, `\nserver: { port: 0 }\nsinks:\n  hook: { type: webhook, url: "${receiver.url}/in", retry: { schedule_ms: [100] } }\nroutes: [{ name: all, to: [hook] }]\n`),
      );
      running = await startRelayProcess(config);
      const url = running.url;
      const acked: number[] = [];
      const statuses = new Map<number, number>();
      let n = 0;
      const worker = async (): Promise<void> => {
        while (n < 400) {
          const mine = n++;
          const status = await post(url, `job-${mine % 10}`, mine);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status === 200) acked.push(mine);
          if (status !== 200 && status !== 503 && status !== 0) throw new Error(`unexpected ${status}`);
        }
      };
      const load = Promise.all(Array.from({ length: 16 }, worker));
      await until(() => acked.length >= 100, 10_000);
      const exit = kill(running, 'SIGTERM');
      await load;
      expect(await exit).toEqual({ code: 0, signal: null });
      expect(acked.length).toBeGreaterThanOrEqual(100);
      // Requests after the signal were refused (503 while draining, then no listener).
      expect((statuses.get(503) ?? 0) + (statuses.get(0) ?? 0)).toBeGreaterThan(0);
      const deliveredBefore = new Set(receiver.requests.map((r) => (JSON.parse(r.body.toString()) as { metadata: { n: number } }).metadata.n));

      expect(deliveredBefore.size).toBeLessThan(acked.length);
      running = await startRelayProcess(config);
      await until(() => {
        const got = new Set(receiver.requests.map((r) => (JSON.parse(r.body.toString()) as { metadata: { n: number } }).metadata.n));
        return acked.every((a) => got.has(a));
      }, 30_000, 100);
      // Some acked events were still queued at the stop: the restart delivered them.
      console.log(`shutdown: ${acked.length} acked, ${deliveredBefore.size} delivered before the stop, ${[...statuses].map(([s, c]) => `${c}×${s}`).join(' ')}`);
    } finally {
      await receiver.close();
    }
  });
});

describe('config reload on SIGHUP', () => {
  it('keeps serving on the old config when the new file is invalid, and switches routes when it is valid', async () => {
    const config = join(dir, 'relay.config.yaml');
    const write = (sinks: string): void => writeFileSync(config, configYaml(dir, `\nserver: { port: 0 }\n${sinks}`));
    write(`sinks:\n  a: { type: file, dir: ${join(dir, 'out-a')}, markdown: false }\nroutes: [{ name: all, to: [a] }]\n`);
    running = await startRelayProcess(config);
    expect(await post(running.url, 'job-1', 1)).toBe(200);
    await until(() => lines(join(dir, 'out-a', 'events.jsonl')).length === 1);

    write(`sinks:\n  a: { type: file, dir: ${join(dir, 'out-a')}, markdown: false }\nroutes: [{ name: all, to: [nowhere] }]\n`);
    running.child.kill('SIGHUP');
    await until(() => running!.logs.some((l) => l.includes('config reload refused')), 5000);
    const refused = running.logs.find((l) => l.includes('"config error"'))!;
    expect(refused).toMatch(/relay.config.yaml:\d+:\d+ routes\[0\].to\[0\]: unknown sink \\"nowhere\\"/);
    expect(await post(running.url, 'job-2', 2)).toBe(200);
    await until(() => lines(join(dir, 'out-a', 'events.jsonl')).length === 2);

    // A refused reload names the key and what was wrong, never the secret it holds.
    write(`admin: { token: "\\qs3cr3t-admin" }\nsinks:\n  a: { type: file, dir: ${join(dir, 'out-a')}, markdown: false }\nroutes: [{ name: all, to: [a] }]\n`);
    running.child.kill('SIGHUP');
    await until(() => running!.logs.filter((l) => l.includes('config reload refused')).length === 2, 5000);
    expect(running.logs.some((l) => l.includes('invalid escape sequence'))).toBe(true);
    expect(running.logs.some((l) => l.includes('s3cr3t'))).toBe(false);
    // Nor a webhook secret written where the signature map belongs.
    write(`sinks:\n  w: { type: webhook, url: "https://example.com/h", signature: "whsec_s3cr3t-hook" }\nroutes: [{ name: all, to: [w] }]\n`);
    running.child.kill('SIGHUP');
    await until(() => running!.logs.filter((l) => l.includes('config reload refused')).length === 3, 5000);
    expect(running.logs.some((l) => l.includes('sinks.w.signature: expected a map'))).toBe(true);
    expect(running.logs.some((l) => l.includes('s3cr3t'))).toBe(false);

    write(`sinks:\n  b: { type: file, dir: ${join(dir, 'out-b')}, markdown: false }\nroutes: [{ name: all, to: [b] }]\n`);
    running.child.kill('SIGHUP');
    await until(() => running!.logs.some((l) => l.includes('"config reloaded"')), 5000);
    expect(running.logs.find((l) => l.includes('"config reloaded"'))).toMatch(/"added":\["b"\].*"removed":\["a"\]/);
    expect(await post(running.url, 'job-3', 3)).toBe(200);
    await until(() => lines(join(dir, 'out-b', 'events.jsonl')).length === 1);
    expect(lines(join(dir, 'out-a', 'events.jsonl'))).toHaveLength(2);
    expect(lines(join(dir, 'out-b', 'events.jsonl'))[0]!.id).toBe('job-3');
    expect(await kill(running, 'SIGTERM')).toEqual({ code: 0, signal: null });
  });
});
