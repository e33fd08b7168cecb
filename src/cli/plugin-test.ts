import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatIssue } from '../config/config-error.js';
import { RELAY_API } from '../plugins/api-resolver.js';
import { collectPlugins } from '../plugins/load-plugins.js';
import { builtinSinks } from '../sinks/registry.js';

/**
 * `firecrawl-relay plugin test`: runs the `*.test.*` files of a plugins folder with the
 * relay's own vitest, `firecrawl-relay/plugin-api` and `/testing` resolved to the relay's
 * files by the same map the plugin loader uses: a folder anywhere on disk (no
 * node_modules, no package.json) tests as it would load. Resolves to the exit code.
 */
export async function testPlugins(dir: string, filters: string[] = []): Promise<number> {
  // vitest loads plugins its own way (ESM, top-level await and all): a plugin must first
  // load as `check` and `serve` load it, or its tests would pass a plugin the relay refuses.
  const { issues } = await collectPlugins(resolve(dir), builtinSinks());
  for (const issue of issues) console.error(formatIssue(issue));
  if (issues.length > 0) return 1;
  // vitest is a development dependency: imported only by this command.
  const { startVitest } = await import('vitest/node');
  const alias = Object.entries(RELAY_API).map(([find, url]) => ({ find, replacement: fileURLToPath(url) }));
  const root = resolve(dir);
  const vitest = await startVitest(
    'test',
    filters,
    { root, run: true, watch: false, config: false, include: ['**/*.{test,spec}.{ts,mts,js,mjs}'] },
    { resolve: { alias } },
  );
  await vitest.close();
  const failed = vitest.state.getCountOfFailedTests() > 0 || vitest.state.getFiles().length === 0 || Number(process.exitCode ?? 0) !== 0;
  return failed ? 1 : 0;
}
