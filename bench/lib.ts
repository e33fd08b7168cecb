import { sign } from '../src/ingress/verify.js';

export const SECRET = 'bench-secret';

/** A signed crawl.page webhook with about `markdownBytes` of markdown. */
export function crawlPage(job: string, seq: number, markdownBytes = 5 * 1024): { body: string; signature: string } {
  const line = `Lorem ipsum dolor sit amet, consectetur adipiscing elit (${seq}). `;
  const markdown = `# Page ${seq}\n\n${line.repeat(Math.ceil(markdownBytes / line.length))}`.slice(0, markdownBytes);
  const body = JSON.stringify({
    success: true,
    type: 'crawl.page',
    id: job,
    data: [{ markdown, metadata: { url: `https://example.com/${seq}`, title: `Page ${seq}`, statusCode: 200, scrapeId: `scrape-${seq}` } }],
    metadata: { bench: true },
  });
  return { body, signature: sign(SECRET, body) };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Runs `total` jobs with at most `concurrency` at once. */
export async function pool(total: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await job(next++);
    }),
  );
}

export function printResult(name: string, rows: Record<string, string | number>): void {
  const width = Math.max(...Object.keys(rows).map((k) => k.length));
  console.log(`\n${name}`);
  for (const [key, value] of Object.entries(rows)) console.log(`  ${key.padEnd(width)}  ${value}`);
  console.log(`JSON ${JSON.stringify({ bench: name, ...rows })}`);
}
