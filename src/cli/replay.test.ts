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

  it('queues the stored events of the filter for one sink, and refuses an unknown sink', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const config = testConfig(configYaml(tmp.dir, `
sinks:
  hook: { type: file, dir: "${join(tmp.dir, 'a')}" }
  archive: { type: file, dir: "${join(tmp.dir, 'b')}" }
routes: [{ name: all, to: [hook] }, { name: pages, match: { type: crawl.page }, to: [archive] }]
`));
    const store = await openStore(config.queue, { history: config.history });
    for (const [jobId, type] of [['job-1', 'crawl.page'], ['job-2', 'crawl.page'], ['job-1', 'crawl.completed']]) {
      await store.enqueue({ source: 'firecrawl', type: type!, jobId: jobId!, dedupeKey: null, body: Buffer.from(JSON.stringify({ type, id: jobId })), sinks: ['hook'] });
    }
    await store.close();

    const lines: string[] = [];
    // By default only what archive's routes take now (crawl.page), not job-1's crawl.completed.
    expect(await replay(config, { sink: 'archive', since: Date.now() - 3_600_000, jobId: 'job-1' }, (l) => lines.push(l))).toBe(1);
    expect(await replay(config, { sink: 'archive', since: Date.now() - 3_600_000, jobId: 'job-1', allTypes: true }, (l) => lines.push(l))).toBe(2);
    expect(lines).toEqual(['queued 1 event for archive', 'queued 2 events for archive']);
    const after = await openStore(config.queue, { history: config.history });
    expect(after.counters().get('archive')?.pending).toBe(3);
    await after.close();
    await expect(replay(config, { sink: 'nope', since: 0 }, () => undefined)).rejects.toThrow(/no sink named "nope" \(known: hook, archive\)/);
  });
});
