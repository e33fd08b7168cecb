/**
 * What history costs: the same store work (enqueue, claim, settle with one attempt per
 * delivery) with history on (24 h) and off, alternating rounds, CPU µs per event of this
 * process (SQLite runs in it). `npm run bench:history`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../src/queue/sqlite/store.js';
import type { AttemptRecord } from '../src/queue/store.js';

const EVENTS = Number(process.env.EVENTS ?? 20_000);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const GROUP = 64;
const body = Buffer.from(JSON.stringify({ success: true, type: 'crawl.page', id: 'x', data: [{ markdown: 'x'.repeat(2000), metadata: { statusCode: 200 } }] }));

async function round(history: boolean): Promise<{ ingress: number; delivery: number; prune: number }> {
  let clock = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'bench-history-'));
  const store = new SqliteStore({ dir, maxBytes: 8 * 2 ** 30, dedupeWindowSeconds: 0, history: { retentionMs: history ? 86_400_000 : 0, maxBytes: 8 * 2 ** 30 }, now: () => clock });
  try {
    let start = process.cpuUsage();
    for (let i = 0; i < EVENTS; i += GROUP) {
      await Promise.all(
        Array.from({ length: Math.min(GROUP, EVENTS - i) }, (_, k) =>
          store.enqueue({ source: 's', type: 'crawl.page', jobId: `job-${(i + k) % 200}`, dedupeKey: null, body, sinks: ['hook'] }),
        ),
      );
    }
    let used = process.cpuUsage(start);
    const ingress = (used.user + used.system) / EVENTS;
    start = process.cpuUsage();
    for (;;) {
      const lanes = await store.claim('hook', { lanes: 100, events: 100, bytes: 16 << 20 });
      if (lanes.length === 0) break;
      const now = clock;
      await store.settle(
        lanes.map((lane) => ({
          lane,
          delivered: lane.deliveries.map((d) => d.id),
          attempts: lane.deliveries.map((d): AttemptRecord => ({ deliveryId: d.id, eventId: d.eventId, at: now, durationMs: 3, outcome: 'delivered', statusCode: 200, error: null })),
        })),
      );
    }
    used = process.cpuUsage(start);
    const delivery = (used.user + used.system) / EVENTS;
    // A day later: what history deferred (deleting events and their attempts) is paid here.
    clock += 25 * 3_600_000;
    start = process.cpuUsage();
    await store.history.prune();
    used = process.cpuUsage(start);
    return { ingress, delivery, prune: (used.user + used.system) / EVENTS };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results: Record<'on' | 'off', Array<{ ingress: number; delivery: number; prune: number }>> = { on: [], off: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const mode of r % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) results[mode].push(await round(mode === 'on'));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const total = (m: 'on' | 'off') => median(results[m].map((x) => x.ingress + x.delivery + x.prune));
console.log(`${EVENTS} events of ${body.length} bytes, ${ROUNDS} rounds, CPU µs per event (median):`);
for (const stage of ['ingress', 'delivery', 'prune'] as const) {
  const off = median(results.off.map((x) => x[stage]));
  const on = median(results.on.map((x) => x[stage]));
  console.log(`  ${stage.padEnd(8)} off ${off.toFixed(1)}  on ${on.toFixed(1)}  (${on - off >= 0 ? '+' : ''}${(on - off).toFixed(1)} µs)  rounds on: ${results.on.map((x) => x[stage].toFixed(1)).join(' ')}  off: ${results.off.map((x) => x[stage].toFixed(1)).join(' ')}`);
}
console.log(`  total    off ${total('off').toFixed(1)}  on ${total('on').toFixed(1)}  (${total('on') - total('off') >= 0 ? '+' : ''}${(total('on') - total('off')).toFixed(1)} µs per event)`);
