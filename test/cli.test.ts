import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sign } from '../src/ingress/verify.js';
import { CLI, kill, startRelayProcess, type RelayProcess } from './helpers/process.js';
import { SECRET, tempDir } from './helpers/relay.js';
import { until } from './helpers/sinks.js';
import { sampleEvent } from './helpers/webhooks.js';

const SHIPPED = new URL('../relay.config.yaml', import.meta.url).pathname;
let dir: string;
let cleanup: () => void;
let running: RelayProcess | undefined;

function cli(args: string[], env: Record<string, string> = {}) {
  const { FIRECRAWL_WEBHOOK_SECRET: _inherited, ...inherited } = process.env;
  const result = spawnSync(process.execPath, [CLI, ...args], {
    env: { ...inherited, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeEach(() => {
  ({ dir, cleanup } = tempDir('relay-cli-'));
});

afterEach(async () => {
  if (running) await kill(running, 'SIGTERM');
  running = undefined;
  cleanup();
});

/** The packages a CLI run loaded, by name (e.g. kafkajs, @aws-sdk/client-s3). */
function packagesLoaded(args: string[]): { code: number | null; packages: Set<string>; files: string[] } {
  const result = spawnSync(process.execPath, ['--require', new URL('./helpers/loaded-modules.cjs', import.meta.url).pathname, CLI, ...args], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  const files = JSON.parse(/LOADED (.*)/.exec(result.stderr)?.[1] ?? '[]') as string[];
  const packages = files.map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f)?.[1]).filter((p): p is string => p !== undefined);
  return { code: result.status, packages: new Set(packages), files };
}

describe('what the CLI loads', () => {
  const HEAVY = ['kafkajs', '@aws-sdk/client-s3', '@slack/webhook', 'undici'];
  const configWith = (sinks: string): string => {
    const file = join(dir, 'relay.config.yaml');
    writeFileSync(file, `sources: { f: { path: /f, secrets: [x] } }\nqueue: { dir: ${join(dir, 'q')} }\nsinks: { ${sinks} }\nroutes: [{ name: all, to: [a] }]\nplugins: { dir: ${join(dir, 'none')} }\n`);
    return file;
  };

  it('loads no sink library for --help, sign, or check of a file-only config', () => {
    const body = join(dir, 'e.json');
    writeFileSync(body, '{}');
    for (const args of [['--help'], ['sign', '--secret', 'x', body], ['check', '--config', configWith(`a: { type: file, dir: ${join(dir, 'out')} }`)]]) {
      const { code, packages } = packagesLoaded(args);
      expect(code, args.join(' ')).toBe(0);
      for (const heavy of HEAVY) expect(packages.has(heavy), `${args[0]} loaded ${heavy}`).toBe(false);
      if (args[0] !== 'check') expect([...packages]).toEqual([]);
    }
  });

  it('checks a file-only config without the ajv compiler or a queue store driver (validators generated at build)', () => {
    const { code, packages, files } = packagesLoaded(['check', '--config', configWith(`a: { type: file, dir: ${join(dir, 'out')} }`)]);
    expect(code).toBe(0);
    expect(files.filter((f) => /ajv\/dist\/(ajv|core)\.js$/.test(f))).toEqual([]);
    expect(['pg', 'better-sqlite3'].filter((p) => packages.has(p))).toEqual([]);
  });

  it('loads a sink library once a config uses its sink', () => {
    const { code, packages } = packagesLoaded(['check', '--config', configWith('a: { type: kafka, brokers: ["k:9092"] }')]);
    expect(code).toBe(0);
    expect(packages.has('kafkajs')).toBe(true);
    expect(packages.has('@aws-sdk/client-s3')).toBe(false);
  });
});

describe('firecrawl-relay check', () => {
  it('prints sources, sinks and routes of a valid config, never a secret', () => {
    const result = cli(['check', '--config', SHIPPED], { FIRECRAWL_WEBHOOK_SECRET: 'do-not-print-me' });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('firecrawl  POST /webhooks/firecrawl  auth: signature (1 secret)');
    expect(result.stdout).toContain('archive  type: file');
    expect(result.stdout).toContain('archive-everything');
    expect(result.stdout + result.stderr).not.toContain('do-not-print-me');
  });

  it('runs without the ingress secret, and warns that serve needs it', () => {
    const result = cli(['check', '--config', SHIPPED]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('firecrawl  POST /webhooks/firecrawl  auth: signature (0 secrets)');
    expect(result.stdout).toMatch(/relay.config.yaml:\d+:\d+ sources.firecrawl.secrets\[0\]: environment variable FIRECRAWL_WEBHOOK_SECRET is not set: read as empty by this command, which serves no webhooks; serve needs it \[RELAY_ERR_CONFIG_ENV_UNSET_OFFLINE\]/);
  });

  it('lists dead letters offline and routes an event without the ingress secret', () => {
    const env = { RELAY_DATA_DIR: dir };
    const dlq = cli(['dlq', 'list', '--config', SHIPPED], env);
    expect(dlq.stderr).toBe('');
    expect([dlq.code, dlq.stdout.trim()]).toEqual([0, '0 dead letters']);
    const event = join(dir, 'event.json');
    writeFileSync(event, JSON.stringify(sampleEvent('crawl.completed')));
    const route = cli(['route', '--config', SHIPPED, event], env);
    expect(route.code).toBe(0);
    expect(JSON.parse(route.stdout)).toMatchObject({ sinks: ['archive', 'console'] });
  });

  // Issue 17 item 7: replay serves no webhooks either, yet refused to run without the secret.
  it('replays offline without the ingress secret', () => {
    const result = cli(['replay', '--config', SHIPPED, '--sink', 'archive', '--since', '24h'], { RELAY_DATA_DIR: dir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('refuses to serve without the secret', () => {
    const result = cli(['serve', '--config', SHIPPED]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('FIRECRAWL_WEBHOOK_SECRET');
  });

  it('exits 2 with the usage on an unknown command', () => {
    const result = cli(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "frobnicate"');
  });
});

describe('firecrawl-relay sign and route', () => {
  it('prints the signature header of a file', () => {
    const file = join(dir, 'event.json');
    writeFileSync(file, JSON.stringify(sampleEvent('crawl.completed')));
    const result = cli(['sign', '--secret', 'abc', file]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(`X-Firecrawl-Signature: ${sign('abc', readFileSync(file))}`);
  });

  it('says which routes and sinks an event would go to', () => {
    const file = join(dir, 'event.json');
    writeFileSync(file, JSON.stringify(sampleEvent('crawl.completed')));
    const result = cli(['route', '--config', SHIPPED, file], { FIRECRAWL_WEBHOOK_SECRET: 'x' });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      type: 'crawl.completed',
      source: 'firecrawl',
      routes: ['archive-everything', 'lifecycle-to-console'],
      sinks: ['archive', 'console'],
    });
  });
});

describe('firecrawl-relay send against the shipped config', () => {
  it('posts a signed sample that ends up as a markdown page file', async () => {
    const env = { FIRECRAWL_WEBHOOK_SECRET: SECRET, RELAY_DATA_DIR: dir, RELAY_PORT: '0' };
    running = await startRelayProcess(SHIPPED, env);
    const result = spawnSync(process.execPath, [CLI, 'send', '--url', `${running.url}/webhooks/firecrawl`, '--sample', 'crawl.page', '--job-id', 'cli-job'], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^200 \{"ok":true,"event_id":"1","duplicate":false,"deliveries":1\}/);
    const page = join(dir, 'out', 'pages', 'crawl', 'cli-job', '550e8400-e29b-41d4-a716-446655440001.md');
    await until(() => existsSync(page));
    expect(readFileSync(page, 'utf8')).toContain('job_id: cli-job');

    const wrong = spawnSync(process.execPath, [CLI, 'send', '--url', `${running.url}/webhooks/firecrawl`, '--secret', 'nope', '--sample', 'crawl.page'], {
      encoding: 'utf8',
    });
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('RELAY_ERR_INGRESS_SIGNATURE_MISMATCH');
  });
});
