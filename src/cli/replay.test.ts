import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configYaml, tempDir, testConfig } from '../../test/helpers/relay.js';
import { openStore } from '../queue/open-store.js';
import { parseDuration, replay } from './replay.js';

describe('firecrawl-relay replay', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('reads durations as 30s, 90m, 24h, 2d and nothing else', () => {
    expect([parseDuration('30s'), parseDuration('90m'), parseDuration('24h'), parseDuration('2d')]).toEqual([30_000, 5_400_000, 86_400_000, 172_800_000]);
    expect(parseDuration('24 hours')).toBeUndefined();
  });

  /** File sinks `hook` (routed), `archive` and `mirror` (not), in a fresh folder. */
  const threeSinks = () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    return testConfig(configYaml(tmp.dir, `
sinks:
  hook: { type: file, dir: "${join(tmp.dir, 'a')}" }
  archive: { type: file, dir: "${join(tmp.dir, 'b')}" }
  mirror: { type: file, dir: "${join(tmp.dir, 'c')}" }
routes: [{ name: all, to: [hook] }, { name: pages, match: { type: crawl.page }, to: [archive] }]
`));
  };

  it('queues the stored events of the filter for one sink, and refuses an unknown sink', async () => {
    const config = threeSinks();
    const store = await openStore(config.queue, { history: config.history });
    for (const [jobId, type, url] of [['job-1', 'crawl.page', 'https://Example.com/a'], ['job-2', 'crawl.page', 'https://other.test/'], ['job-1', 'crawl.completed', null]]) {
      await store.enqueue({ source: 'firecrawl', type: type!, jobId: jobId!, dedupeKey: null, body: Buffer.from(JSON.stringify({ type, id: jobId })), sinks: ['hook'], url });
    }
    await store.close();

    const lines: string[] = [];
    const quiet = { err: () => undefined };
    // By default only what archive's routes take now (crawl.page), not job-1's crawl.completed.
    expect(await replay(config, { sink: 'archive', since: Date.now() - 3_600_000, jobId: 'job-1' }, (l) => lines.push(l), Date.now(), quiet)).toBe(1);
    expect(await replay(config, { sink: 'archive', since: Date.now() - 3_600_000, jobId: 'job-1', allTypes: true }, (l) => lines.push(l), Date.now(), quiet)).toBe(2);
    expect(lines).toEqual(['queued 1 event for archive', 'queued 2 events for archive']);
    const after = await openStore(config.queue, { history: config.history });
    expect(after.counters().get('archive')?.pending).toBe(3);
    await after.close();
    // --type with a prefix and --url with a piece of the page URL, in any case.
    expect(await replay(config, { sink: 'mirror', since: 0, type: 'crawl.*', url: 'example.com', allTypes: true }, () => undefined, Date.now(), quiet)).toBe(1);
    await expect(replay(config, { sink: 'nope', since: 0 }, () => undefined)).rejects.toThrow(/no sink named "nope" \(known: hook, archive, mirror\)/);
  });

  it('reports progress on its error stream every 1,000 events or every second, and the total', async () => {
    const config = threeSinks();
    const store = await openStore(config.queue, { history: config.history });
    // Side by side, as ingress does: the store commits them in groups.
    await Promise.all(
      Array.from({ length: 2500 }, (_, i) => store.enqueue({ source: 'firecrawl', type: 'crawl.page', jobId: `job-${i % 7}`, dedupeKey: null, body: Buffer.from('{}'), sinks: ['hook'] })),
    );
    await store.close();

    // A clock that never moves: a line per 1,000 events, then the last one.
    const out: string[] = [];
    const err: string[] = [];
    const frozen = () => 0;
    await replay(config, { sink: 'archive', since: 0, allTypes: true }, (l) => out.push(l), Date.now(), { err: (l) => err.push(l), clock: frozen });
    expect(err).toEqual(['queued 1000 of ~2500 for archive', 'queued 2000 of ~2500 for archive', 'queued 2500 of ~2500 for archive']);
    expect(out).toEqual(['queued 2500 events for archive']);

    // A slow store (each chunk takes over a second): a line per chunk of 500.
    err.length = 0;
    let at = 0;
    const slow = () => (at += 1500);
    await replay(config, { sink: 'mirror', since: 0, allTypes: true }, () => undefined, Date.now(), { err: (l) => err.push(l), clock: slow });
    expect(err).toEqual([500, 1000, 1500, 2000, 2500].map((n) => `queued ${n} of ~2500 for mirror`));
  });
});
