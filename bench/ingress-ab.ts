/**
 * Ingress A/B: the relay of bench:ingress (c) — dedupe off, durable queue, a file sink that
 * writes nothing — for two or more builds in alternation, several rounds in one session, so
 * that the host's load falls on every build alike. Prints process CPU per accepted event
 * (robust on a loaded machine, unlike requests/s) for each round, then median and spread.
 * RELAY_PROFILE=<dir> runs each relay under `node --cpu-prof` into that folder; AB_INGRESS_ONLY=1
 * routes every event nowhere and keeps no history, so the queue stores nothing: the ingress alone.
 *
 *   npx tsx bench/ingress-ab.ts '<dist/cli/main.js>[ <node flag>…][,<another>…]' [rounds=3] [seconds=8] [connections=64]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { median, printResult, processCpuSeconds, signedPagePosts, stopChild, writeBenchConfig } from './lib.js';

// A build may carry Node flags of its own after a space: "dist/cli/main.js --max-semi-space-size=64".
const builds = (process.argv[2] ?? '').split(',').filter(Boolean);
const rounds = Number(process.argv[3] ?? 3);
const seconds = Number(process.argv[4] ?? 8);
const connections = Number(process.argv[5] ?? 64);
if (builds.length === 0) throw new Error("usage: bench/ingress-ab.ts '<dist/cli/main.js>[ <node flag>…][,<another>…]' [rounds] [seconds] [connections]");

async function startRelay(build: string, config: string): Promise<{ url: string; child: ReturnType<typeof spawn> }> {
  const profile = process.env.RELAY_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.RELAY_PROFILE] : [];
  // AB_NODE_FLAGS: Node flags for every relay, e.g. --trace-gc (its lines go to stdout).
  const [cli, ...own] = build.split(' ').filter(Boolean);
  const flags = [...(process.env.AB_NODE_FLAGS ?? '').split(' ').filter(Boolean), ...own];
  const child = spawn(process.execPath, [...profile, ...flags, resolve(cli!), 'serve', '--config', config], { stdio: ['ignore', 'inherit', 'pipe'] });
  return new Promise((done, fail) => {
    child.once('exit', (code) => fail(new Error(`relay exited with ${code}`)));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; address?: string };
        if (entry.msg === 'relay listening' && entry.address) done({ url: entry.address, child });
      } catch {
        // not a log line (a Node warning): shown
        process.stderr.write(`${line}\n`);
      }
    });
  });
}

interface Run {
  us: number;
  systemUs: number;
  rps: number;
  load: number;
}

async function measure(cli: string): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'relay-bench-ab-'));
  // AB_SINK replaces the sink (one YAML flow mapping), e.g. one that cannot connect, to see what delivery costs.
  const sink = process.env.AB_SINK ?? `{ type: file, dir: ${join(dir, 'out')}, jsonl: null, markdown: false }`;
  const config = writeBenchConfig(dir, `  discard: ${sink}`, { dedupe: false });
  // AB_INGRESS_ONLY=1: a route that matches nothing and no history, so nothing is stored: the ingress alone.
  if (process.env.AB_INGRESS_ONLY) {
    const yaml = readFileSync(config, 'utf8').replace(/^routes: .*$/m, 'history: { retention_seconds: 0 }\nroutes: [{ name: none, match: { success: false }, to: [discard] }]');
    writeFileSync(config, yaml);
  }
  const { url, child } = await startRelay(cli, config);
  try {
    const options = signedPagePosts(url, connections);
    await autocannon({ ...options, duration: 2 });
    const before = processCpuSeconds(child.pid!);
    const result = await autocannon({ ...options, duration: seconds });
    const after = processCpuSeconds(child.pid!);
    const cpu = after.user + after.system - before.user - before.system;
    const system = after.system - before.system;
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`${cli}: ${result.non2xx} non-2xx, ${result.errors} errors`);
    return { us: Math.round((cpu * 1e6) / result.requests.total), systemUs: Math.round((system * 1e6) / result.requests.total), rps: Math.round(result.requests.average), load: loadavg()[0]! };
  } finally {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

const runs = new Map<string, Run[]>(builds.map((cli) => [cli, []]));
for (let round = 1; round <= rounds; round++) {
  for (const cli of builds) {
    const run = await measure(cli);
    runs.get(cli)!.push(run);
    printResult('ingress A/B round', { round, build: cli, 'CPU µs/event': run.us, 'of which system': run.systemUs, 'requests/s': run.rps, 'load avg 1 min': run.load.toFixed(1) });
  }
}
for (const [cli, list] of runs) {
  const us = list.map((r) => r.us);
  printResult('ingress A/B', {
    build: cli,
    connections,
    rounds,
    'CPU µs/event median': median(us),
    'CPU µs/event min–max': `${Math.min(...us)}–${Math.max(...us)}`,
    'requests/s median': median(list.map((r) => r.rps)),
    'load avg 1 min': list.map((r) => r.load.toFixed(1)).join(' '),
  });
}
