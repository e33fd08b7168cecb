/**
 * What the load generator costs: the generator bench:shipped used before (undici, a body
 * built and signed per request) against bench/raw-load.ts (requests pre-built, raw
 * keep-alive sockets), alternated, 5 s each, 64 connections, on a bare Fastify route.
 * Prints requests/s and the generator's own CPU µs per request (process.cpuUsage).
 *
 *   npx tsx bench/generator-cost.ts
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { crawlPage, postPage, startServer, stopChild } from './lib.js';
import { burst, serialisePost } from './raw-load.js';

const bare = await startServer(fileURLToPath(new URL('servers/bare.ts', import.meta.url)));
const requests = Array.from({ length: 60_000 }, (_, n) => {
  const { body, signature } = crawlPage(`crawl-${n % 20}`, n);
  return serialisePost('http://127.0.0.1', '/webhooks/firecrawl', { 'content-type': 'application/json', 'x-firecrawl-signature': signature }, body);
});
for (let round = 0; round < 3; round++) {
  const http = new Pool(bare.url, { connections: 64 });
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const until = started + 5000;
  let sent = 0;
  let seq = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (performance.now() < until) {
        await postPage(http, `crawl-${seq % 20}`, seq++);
        sent++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  const ms = performance.now() - started;
  await http.close();
  console.log(`undici, built and signed per request: ${Math.round((sent / ms) * 1000)} req/s, ${Math.round((cpu.user + cpu.system) / sent)} µs/request, load ${loadavg()[0]!.toFixed(1)}`);
  const raw = await burst(bare.url, requests, 64, 5);
  console.log(`pre-built, raw sockets (raw-load.ts):  ${Math.round((raw.acked / raw.elapsedMs) * 1000)} req/s, ${raw.generatorCpuUsPerRequest} µs/request, load ${loadavg()[0]!.toFixed(1)}`);
}
await stopChild(bare.child);
