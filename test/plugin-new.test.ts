import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPlugins } from '../src/plugins/load-plugins.js';
import { builtinSinks } from '../src/sinks/registry.js';
import { CLI } from './helpers/process.js';

// Under the repository's .tmp/: an author's project, where firecrawl-relay and vitest resolve.
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const VITEST = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
let dir = '';

afterEach(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[], cwd: string) => spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, CI: 'true' } });

describe('firecrawl-relay plugin new NAME', () => {
  it('writes a typed plugin and its contract test that load and pass as written', async () => {
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    dir = mkdtempSync(join(ROOT, '.tmp', 'plugin-new-'));
    const made = run([CLI, 'plugin', 'new', 'pages_sink'], dir);
    expect(made.stderr).toBe('');
    expect(made.status).toBe(0);
    expect(readdirSync(join(dir, 'plugins')).sort()).toEqual(['pages_sink.test.ts', 'pages_sink.ts']);

    const registry = await loadPlugins(join(dir, 'plugins'), builtinSinks(), dir);
    expect(registry.get('pages_sink')?.type).toBe('pages_sink');

    const tested = run([VITEST, 'run', '--root', dir, '--reporter', 'json'], dir);
    const report = JSON.parse(tested.stdout.slice(tested.stdout.indexOf('{'))) as { numPassedTests: number; numFailedTests: number };
    expect([tested.status, report.numFailedTests, report.numPassedTests]).toEqual([0, 0, 7]);
  }, 120_000);

  it('refuses a name that is not lower snake_case, and writes nothing over an existing file', () => {
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    dir = mkdtempSync(join(ROOT, '.tmp', 'plugin-new-'));
    const hyphen = run([CLI, 'plugin', 'new', 'pages-sink'], dir);
    expect([hyphen.status, hyphen.stderr]).toEqual([2, expect.stringContaining('got "pages-sink": try "pages_sink"')]);
    expect(run([CLI, 'plugin', 'new', 'twice'], dir).status).toBe(0);
    const again = run([CLI, 'plugin', 'new', 'twice'], dir);
    expect([again.status, again.stderr]).toEqual([2, expect.stringContaining('writes no file over another')]);
  });
});
