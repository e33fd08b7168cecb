import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RelayError } from '../errors.js';
import { formatIssue } from '../config/config-error.js';
import { RELAY_API } from '../plugins/api-resolver.js';
import { collectPlugins } from '../plugins/load-plugins.js';
import { builtinSinks } from '../sinks/registry.js';

/**
 * Longer than any wait of the contract kit (10 s each, its cases set 60 s of their own): an
 * author's test that waits as the kit does fails with its own message, not vitest's 5 s timeout.
 */
export const PLUGIN_TEST_TIMEOUT_MS = 60_000;

/**
 * `firecrawl-relay plugin test`: runs the `*.test.*` files of a plugins folder with the
 * relay's own vitest, `firecrawl-relay/plugin-api` and `/testing` resolved to the relay's
 * files by the same map the plugin loader uses: a folder anywhere on disk (no
 * node_modules, no package.json) tests as it would load. `vitestArgs` (what follows `--`
 * on the command line: `-t NAME`, `--bail 1`…) go to vitest as its own options.
 * Resolves to the exit code.
 */
export async function testPlugins(dir: string, filters: string[] = [], vitestArgs: string[] = []): Promise<number> {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new RelayError('RELAY_ERR_CLI_USAGE', [
      `plugin test expects a plugins folder at ${root}, got ${existsSync(root) ? 'a file' : 'nothing there'}: pass --dir DIR, or --config FILE whose plugins.dir exists`,
    ]);
  }
  // vitest loads plugins its own way (ESM, top-level await and all): a plugin must first
  // load as `check` and `serve` load it, or its tests would pass a plugin the relay refuses.
  const { issues } = await collectPlugins(root, builtinSinks());
  for (const issue of issues) console.error(formatIssue(issue));
  if (issues.length > 0) return 1;
  // vitest is a development dependency: imported only by this command.
  const { parseCLI, startVitest } = await import('vitest/node');
  const alias = Object.entries(RELAY_API).map(([find, url]) => ({ find, replacement: fileURLToPath(url) }));
  const extra = parseCLI(['vitest', ...vitestArgs]);
  const vitest = await startVitest(
    'test',
    [...filters, ...extra.filter],
    { testTimeout: PLUGIN_TEST_TIMEOUT_MS, ...extra.options, root, run: true, watch: false, config: false, include: ['**/*.{test,spec}.{ts,mts,js,mjs}'] },
    { resolve: { alias } },
  );
  await vitest.close();
  const failed = vitest.state.getCountOfFailedTests() > 0 || vitest.state.getFiles().length === 0 || Number(process.exitCode ?? 0) !== 0;
  return failed ? 1 : 0;
}
