import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { Agent, request, type ClientRequest } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeCheckoutTmpIfEmpty } from './helpers/temp-dir.js';
import { CLI, freePort, startRelayProcess, type RelayProcess } from './helpers/process.js';
import { SECRET, configYaml, tempDir } from './helpers/relay.js';
import { until } from './helpers/sinks.js';
import { postSigned } from './helpers/webhooks.js';
import { sign } from '../src/ingress/verify.js';

afterAll(() => removeCheckoutTmpIfEmpty(fileURLToPath(new URL('../', import.meta.url))));

// Plugins import 'firecrawl-relay/plugin-api', which resolves inside this package only.
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const isRoot = process.getuid?.() === 0;
if (!isRoot && process.env.CI !== 'true') console.warn('\n!!! SKIPPED "stderr on a full disk": mounting a small tmpfs needs root (CI never skips)\n');

let dir: string;
let cleanups: Array<() => unknown> = [];
const children: ChildProcess[] = [];

beforeEach(() => {
  const tmp = tempDir('relay-shutdown-');
  dir = tmp.dir;
  cleanups.push(tmp.cleanup);
});

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const cleanup of cleanups.reverse()) cleanup();
  cleanups = [];
});

function writeConfig(body: string): string {
  const file = join(dir, 'relay.config.yaml');
  writeFileSync(file, configYaml(dir, body));
  return file;
}

function event(n: number): string {
  return JSON.stringify({ success: true, type: 'crawl.page', id: `job-${n % 7}`, data: [{ markdown: `# page ${n}`, metadata: { url: `https://e.com/${n}` } }], metadata: { n } });
}

/** The lines the file sink wrote to `out` so far. */
function archived(out: string): string[] {
  const file = join(out, 'events.jsonl');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/** Resolves once the child exited and its pipes are read to the end (so its last line is in). */
async function ended(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode === null && child.signalCode === null) await once(child, 'close');
  return { code: child.exitCode, signal: child.signalCode };
}

/** A plugin sink whose close (or, with `hang: 'write'`, whose write) never ends: it logs "close started" / "write started" and then hangs. */
function hangingPlugin(hang: 'close' | 'write' = 'close'): string {
  const pluginsDir = join(ROOT, '.tmp', `shutdown-plugins-${process.pid}-${Date.now()}`);
  mkdirSync(pluginsDir, { recursive: true });
  cleanups.push(() => rmSync(pluginsDir, { recursive: true, force: true }));
  writeFileSync(
    join(pluginsDir, 'hang.mjs'),
    `import { defineSink } from 'firecrawl-relay/plugin-api';
export default defineSink({
  type: 'hang',
  configSchema: { type: 'object', additionalProperties: false, properties: {} },
  create(options, ctx) {
    return {
      ${hang === 'write' ? `write() {
        ctx.logger.info('write started');
        return new Promise(() => {});
      },` : `async write() {},
      close() {
        ctx.logger.info('close started');
        return new Promise(() => {});
      },`}
    };
  },
});
`,
  );
  return pluginsDir;
}

/** Starts a signed webhook POST through `agent` (keep-alive); the caller writes the body. */
function startKeepAlivePost(agent: Agent, url: string, body: string): { req: ClientRequest; answer: Promise<{ status: number; connection: string | undefined }> } {
  const req = request(`${url}/webhooks/firecrawl`, {
    method: 'POST',
    agent,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-firecrawl-signature': sign(SECRET, body) },
  });
  req.flushHeaders();
  const answer = new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
    });
    req.on('error', reject);
  });
  return { req, answer };
}

const env = { FIRECRAWL_WEBHOOK_SECRET: SECRET, RELAY_LOG_FORMAT: 'json' };

/** A relay whose only sink never finishes closing (or writing). */
async function startWithHangingClose(shutdownTimeoutMs: number, hang: 'close' | 'write' = 'close'): Promise<RelayProcess> {
  const config = writeConfig(`
server: { port: 0, shutdown_timeout_ms: ${shutdownTimeoutMs} }
plugins: { dir: "${hangingPlugin(hang)}" }
sinks:
  stuck: { type: hang }
routes: [{ name: all, to: [stuck] }]
`);
  const relay = await startRelayProcess(config, env);
  children.push(relay.child);
  return relay;
}

describe('serve: shutdown', () => {
  it('exits 0 when SIGTERM comes and both its pipes close at once (the parent went away)', async () => {
    const out = join(dir, 'out');
    const config = writeConfig(`
server: { port: 0, shutdown_timeout_ms: 5000 }
sinks:
  screen: { type: stdout }
  archive: { type: file, dir: "${out}", markdown: false }
routes: [{ name: all, to: [screen, archive] }]
`);
    // A few at once: each is one chance for the last log lines to meet the closed pipe.
    const relays = await Promise.all([1, 2, 3].map(() => startRelayProcess(config, { ...env, RELAY_LOG_LEVEL: 'debug' })));
    children.push(...relays.map((r) => r.child));
    for (const [i, relay] of relays.entries()) expect(await postSigned(relay.url, event(i))).toBe(200);
    for (const relay of relays) {
      relay.child.kill('SIGTERM');
      relay.child.stdout!.destroy();
      relay.child.stderr!.destroy();
    }
    // Exit 0 means it finished before the deadline: past it the exit code is 1.
    for (const relay of relays) expect(await relay.exited).toEqual({ code: 0, signal: null });
  }, 60_000);

  it('keeps running when its standard output closes: the stdout sink fails its writes, the other sinks deliver', async () => {
    const out = join(dir, 'out');
    const config = writeConfig(`
server: { port: 0, shutdown_timeout_ms: 5000 }
sinks:
  screen: { type: stdout, retry: { initial_delay_ms: 50, max_delay_ms: 50, jitter: 0, max_attempts: 2 } }
  archive: { type: file, dir: "${out}", markdown: false }
routes: [{ name: all, to: [screen, archive] }]
`);
    const relay = await startRelayProcess(config, { ...env, RELAY_LOG_LEVEL: 'debug' });
    children.push(relay.child);
    relay.child.stdout!.destroy();
    for (let n = 0; n < 5; n++) expect(await postSigned(relay.url, event(n))).toBe(200);
    await until(() => archived(out).length === 5, 30_000);
    // The stdout sink's deliveries fail and, after their attempts, become dead letters.
    const deadLetters = async (): Promise<number> =>
      Number(/^relay_dead_letters\{sink="screen"\} (\d+)$/m.exec(await (await fetch(`${relay.url}/metrics`)).text())?.[1]);
    await until(async () => (await deadLetters()) === 5, 30_000, 50);
    expect(await (await fetch(`${relay.url}/healthz`)).json()).toEqual({ ok: true });
    relay.child.kill('SIGTERM');
    expect(await ended(relay.child)).toEqual({ code: 0, signal: null });
  }, 60_000);

  it('exits 1 once shutdown_timeout_ms (+2 s) passed while a sink close hangs, the last line naming it', async () => {
    const relay = await startWithHangingClose(300);
    relay.child.kill('SIGTERM');
    expect(await ended(relay.child)).toEqual({ code: 1, signal: null });
    const last = JSON.parse(relay.logs.at(-1)!) as { code: string; msg: string; level: number };
    expect(last.code).toBe('RELAY_ERR_SHUTDOWN_DEADLINE');
    expect(last.msg).toContain('got these steps still running: sink stuck: close');
    expect(relay.logs.some((line) => line.includes('"close started"'))).toBe(true);
  }, 60_000);

  it('exits 1 once shutdown_timeout_ms (+2 s) passed while a sink write hangs and ignores its abort, the last line naming it', async () => {
    const relay = await startWithHangingClose(300, 'write');
    expect(await postSigned(relay.url, event(1))).toBe(200);
    await until(() => relay.logs.some((line) => line.includes('"write started"')), 30_000);
    relay.child.kill('SIGTERM');
    expect(await ended(relay.child)).toEqual({ code: 1, signal: null });
    const last = JSON.parse(relay.logs.at(-1)!) as { code: string; msg: string };
    expect(last.code).toBe('RELAY_ERR_SHUTDOWN_DEADLINE');
    expect(last.msg).toContain('sink stuck: write in flight');
    expect(relay.logs.some((line) => line.includes('"relay stopped"'))).toBe(false);
  }, 60_000);

  it('exits 0, drained, when a webhook in flight at SIGTERM is answered on a keep-alive connection the client keeps open', async () => {
    const out = join(dir, 'out');
    const config = writeConfig(`
server: { port: 0, shutdown_timeout_ms: 3000 }
sinks:
  archive: { type: file, dir: "${out}", markdown: false }
routes: [{ name: all, to: [archive] }]
`);
    const relay = await startRelayProcess(config, env);
    children.push(relay.child);
    const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
    cleanups.push(() => agent.destroy());
    // Headers and half the body now; the rest once the relay is shutting down.
    const body = event(1);
    const webhook = startKeepAlivePost(agent, relay.url, body);
    webhook.req.write(body.slice(0, 10));
    const inflightBytes = async (): Promise<number> =>
      Number(/^relay_ingress_inflight_bytes (\d+)$/m.exec(await (await fetch(`${relay.url}/metrics`)).text())?.[1]);
    await until(async () => (await inflightBytes()) > 0, 30_000, 20);
    relay.child.kill('SIGTERM');
    await until(() => relay.logs.some((line) => line.includes('"shutting down"')), 30_000);
    webhook.req.end(body.slice(10));
    expect((await webhook.answer).status).toBe(200);
    expect(await ended(relay.child)).toEqual({ code: 0, signal: null });
    expect(JSON.parse(relay.logs.at(-1)!)).toMatchObject({ msg: 'relay stopped' });
    // The sinks drained from the signal on: the webhook acknowledged meanwhile waited in the
    // queue, and the next start delivers it.
    const next = await startRelayProcess(config, env);
    children.push(next.child);
    await until(() => archived(out).length === 1, 30_000, 50);
    next.child.kill('SIGTERM');
    expect(await ended(next.child)).toEqual({ code: 0, signal: null });
  }, 60_000);

  it('exits 1 at once, saying where, when its port is taken (EADDRINUSE), instead of running on without a listener', async () => {
    const port = await freePort();
    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    cleanups.push(() => taken.close());
    const config = writeConfig(`
server: { port: ${port} }
sinks:
  screen: { type: stdout }
routes: [{ name: all, to: [screen] }]
`);
    const child = spawn(process.execPath, [CLI, 'serve', '--config', config], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await ended(child)).toEqual({ code: 1, signal: null });
    expect(stderr).toContain(`RELAY_ERR_SERVE_LISTEN: expected to listen on 127.0.0.1:${port} (server.host, server.port), got listen EADDRINUSE: address already in use`);
  }, 60_000);

  it('exits at once on a second SIGTERM, naming what had not finished', async () => {
    const relay = await startWithHangingClose(600000);
    relay.child.kill('SIGTERM');
    await until(() => relay.logs.some((line) => line.includes('"close started"')), 30_000);
    relay.child.kill('SIGTERM');
    // 128 + 15: the shell's convention for "ended by SIGTERM".
    expect(await ended(relay.child)).toEqual({ code: 143, signal: null });
    const last = JSON.parse(relay.logs.at(-1)!) as { code: string; msg: string };
    expect(last.code).toBe('RELAY_ERR_SHUTDOWN_INTERRUPTED');
    expect(last.msg).toBe('a second SIGTERM arrived while shutting down: exited at once, not finished: sink stuck: close');
  }, 60_000);
});

/**
 * Runs the relay with standard output and error on a pseudo-terminal that nobody reads (a
 * terminal after Ctrl-S, a stalled ssh session): python's `pty` holds the master side and
 * prints the relay's pid, then its exit code (negative: the signal that killed it).
 */
const PTY_HOLDER = `
import os, pty, subprocess, sys
master, slave = pty.openpty()
child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
os.close(slave)
print(child.pid, flush=True)
print(child.wait(), flush=True)
`;

describe('serve: a terminal that stops taking output', () => {
  it('answers 200 and delivers while stdout and stderr are a terminal nobody reads, and SIGTERM still ends it', async () => {
    const out = join(dir, 'out');
    const port = await freePort();
    const config = writeConfig(`
server: { port: ${port}, shutdown_timeout_ms: 500 }
sinks:
  screen: { type: stdout }
  archive: { type: file, dir: "${out}", markdown: false }
routes: [{ name: all, to: [screen, archive] }]
`);
    const holder = spawn('python3', ['-c', PTY_HOLDER, process.execPath, CLI, 'serve', '--config', config], {
      env: { ...process.env, ...env, RELAY_LOG_LEVEL: 'debug' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(holder);
    const lines: string[] = [];
    holder.stdout!.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    await until(() => lines.length >= 1, 30_000, 20);
    const pid = Number(lines[0]);
    cleanups.push(() => {
      if (lines.length < 2) process.kill(pid, 'SIGKILL');
    });
    const url = `http://127.0.0.1:${port}`;
    // A relay stuck in write(2) accepts connections and never answers: give each request a bound.
    const answered = (path: string): Promise<number> => fetch(`${url}${path}`, { signal: AbortSignal.timeout(20_000) }).then((r) => r.status, () => 0);
    await until(async () => (await answered('/healthz')) === 200, 30_000, 50);

    // Far more than a terminal buffers (a few KB in the line discipline, 64 KB in the pty).
    const page = 'x'.repeat(2000);
    const bigEvent = (n: number): string => JSON.stringify({ ...JSON.parse(event(n)), data: [{ markdown: page, metadata: { url: `https://e.com/${n}` } }] });
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async (_, lane) => {
        for (let n = lane; n < 200; n += 4) statuses.push(await postSigned(url, bigEvent(n), SECRET, 20_000));
      }),
    );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    await until(() => archived(out).length === 200, 30_000, 50);
    expect(await answered('/healthz')).toBe(200);

    process.kill(pid, 'SIGTERM');
    await until(() => lines.length >= 2, 30_000, 50);
    // 1: the log lines the terminal never took were still waiting at the deadline (the exit code says so).
    expect(lines[1]).toBe('1');
  }, 120_000);
});

describe.skipIf(!isRoot && process.env.CI !== 'true')('serve: stderr on a full disk', () => {
  it('answers 200 and delivers under load while every log line is dropped (and counted), and SIGTERM still ends it', async () => {
    const disk = join(dir, 'disk');
    mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', disk]);
    cleanups.push(() => execFileSync('umount', ['-l', disk]));
    // Fill the disk through the very file the relay's stderr will append to.
    const stderrFd = openSync(join(disk, 'stderr.log'), 'a');
    const chunk = Buffer.alloc(16 * 1024, 'x');
    for (;;) {
      try {
        writeSync(stderrFd, chunk);
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
        break;
      }
    }
    const out = join(dir, 'out');
    const port = await freePort();
    const config = writeConfig(`
server: { port: ${port}, shutdown_timeout_ms: 5000 }
sinks:
  archive: { type: file, dir: "${out}", markdown: false }
routes: [{ name: all, to: [archive] }]
`);
    const child = spawn(process.execPath, [CLI, 'serve', '--config', config], {
      env: { ...process.env, ...env, RELAY_LOG_LEVEL: 'debug' },
      stdio: ['ignore', 'ignore', stderrFd],
    });
    children.push(child);
    closeSync(stderrFd);
    const url = `http://127.0.0.1:${port}`;
    await until(async () => {
      if (child.exitCode !== null) throw new Error(`relay exited with ${child.exitCode} before answering`);
      return (await fetch(`${url}/healthz`).then((r) => r.status, () => 0)) === 200;
    }, 30_000, 50);

    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, lane) => {
        for (let n = lane; n < 200; n += 8) statuses.push(await postSigned(url, event(n)));
      }),
    );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const delivered = (): number[] => archived(out).map((line) => (JSON.parse(line) as { metadata: { n: number } }).metadata.n);
    await until(() => new Set(delivered()).size === 200, 30_000, 50);

    const metrics = await (await fetch(`${url}/metrics`)).text();
    const dropped = Number(/^relay_log_lines_dropped_total (\d+)$/m.exec(metrics)?.[1]);
    expect(dropped).toBeGreaterThan(0);

    child.kill('SIGTERM');
    expect(await ended(child)).toEqual({ code: 0, signal: null });
  }, 120_000);
});
