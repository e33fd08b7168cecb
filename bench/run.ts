/**
 * `npm run bench`: every benchmark, one after the other, each printing a table and a
 * `JSON {...}` line. Benchmarks print figures; they never fail on a slow machine.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Each prints a table and a JSON line; arguments are each script's defaults.
const BENCHES = ['ingress.ts', 'kafka.ts', 'webhook.ts', 's3.ts', 'backlog.ts', 'large-pages.ts'];

for (const bench of BENCHES) {
  const script = fileURLToPath(new URL(bench, import.meta.url));
  const result = spawnSync(process.execPath, ['--import', 'tsx', script], { stdio: 'inherit' });
  if (result.status !== 0) console.error(`${bench} exited with ${result.status}`);
}
