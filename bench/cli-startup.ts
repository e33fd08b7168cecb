/**
 * CPU (user + system) the CLI takes to start and do one thing, for a config with one source
 * and one file sink: the median of RUNS runs per command, beside `node -e 0` measured in the
 * same run (the floor no command can go under), and the ratio to it.
 * Run: npm run bench:cli  (Linux: reads /usr/bin/time).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const RUNS = Number(process.env.RUNS ?? 5);
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'cli-startup-'));
const config = join(dir, 'relay.config.yaml');
writeFileSync(
  config,
  [
    'sources:',
    '  firecrawl:',
    '    path: /webhooks/firecrawl',
    '    secrets: ["${FIRECRAWL_WEBHOOK_SECRET}"]',
    'queue:',
    `  dir: ${join(dir, 'queue')}`,
    'sinks:',
    '  archive:',
    '    type: file',
    `    dir: ${join(dir, 'out')}`,
    'routes:',
    '  - name: all',
    '    match: { type: "*" }',
    '    to: [archive]',
    '',
  ].join('\n'),
);
const event = join(dir, 'event.json');
writeFileSync(event, JSON.stringify({ success: true, type: 'crawl.started', id: 'bench', data: [] }));

// `send` posts to this; it answers as the relay would.
const server = createServer((req, res) => req.resume().on('end', () => res.end('{"ok":true}')));
await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
const { port } = server.address() as { port: number };

/** CPU seconds of one run of `node args`, from /usr/bin/time (the child's own rusage); not sync: `send` posts to this process. */
async function cpuSeconds(args: string[]): Promise<number> {
  const run = await promisify(execFile)('/usr/bin/time', ['-f', 'CPU %U %S', process.execPath, ...args], {
    env: { ...process.env, FIRECRAWL_WEBHOOK_SECRET: 'x' },
  });
  const [, user, system] = /CPU ([\d.]+) ([\d.]+)\s*$/.exec(run.stderr) ?? [];
  return Number(user) + Number(system);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const commands: Record<string, string[]> = {
  'node -e 0': ['-e', '0'],
  '--help': [CLI, '--help'],
  check: [CLI, 'check', '--config', config],
  sign: [CLI, 'sign', event],
  send: [CLI, 'send', '--url', `http://127.0.0.1:${port}/webhooks/firecrawl`, event],
};
// Interleaved, so a burst of load on the shared machine falls on every command alike.
const samples = new Map<string, number[]>(Object.keys(commands).map((name) => [name, []]));
for (let run = 0; run < RUNS; run++) {
  for (const [name, args] of Object.entries(commands)) samples.get(name)!.push(await cpuSeconds(args));
}
server.close();
rmSync(dir, { recursive: true, force: true });

const baseline = median(samples.get('node -e 0')!);
console.log(`node ${process.version}, median of ${RUNS} runs, CPU seconds (user + system)`);
for (const [name, values] of samples) {
  const m = median(values);
  console.log(`${name.padEnd(10)} ${m.toFixed(2)} s   ${(m / baseline).toFixed(1)}x node -e 0`);
}
