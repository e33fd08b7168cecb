import { describe, expect, it } from 'vitest';
import type { Relay } from '../relay.js';
import { adminAuth, adminRelayEachTest } from '../../test/helpers/admin.js';
import { sampleEvent, signedRequest } from '../../test/helpers/webhooks.js';

type Page = { events: Array<{ id: number; type: string; job_id: string; sinks: Record<string, string> }>; next_cursor: number | null };

describe('GET /admin/events: cursor paging and combined filters', () => {
  const start = adminRelayEachTest();
  const receive = async (relay: Relay, type: string, job: string) => {
    expect((await relay.app.inject(signedRequest(sampleEvent(type, { id: job })))).statusCode).toBe(200);
  };
  const page = async (relay: Relay, query: string): Promise<Page> =>
    (await relay.app.inject({ method: 'GET', url: `/admin/events?${query}`, headers: adminAuth })).json();
  /** Every page from the first, with `between(n)` run after page n: each event seen once, in order. */
  async function allPages(relay: Relay, query: string, between: (n: number) => Promise<void>): Promise<number[]> {
    const seen: number[] = [];
    let cursor: number | null = null;
    for (let n = 1; n < 20; n++) {
      const current: Page = await page(relay, `${query}${cursor === null ? '' : `&cursor=${cursor}`}`);
      seen.push(...current.events.map((e) => e.id));
      cursor = current.next_cursor;
      if (cursor === null) return seen;
      await between(n);
    }
    throw new Error('paging did not end');
  }

  it('newest first: events arriving between pages neither shift nor repeat what follows', async () => {
    const relay = await start();
    for (let i = 1; i <= 5; i++) await receive(relay, 'crawl.page', `job-${i}`);
    const before = (await page(relay, 'limit=500')).events.map((e) => e.id);
    const seen = await allPages(relay, 'limit=2', async (n) => {
      for (let i = 0; i < 3; i++) await receive(relay, 'crawl.page', `late-${n}-${i}`);
    });
    // Exactly the five that were there when paging began, newest first, each once.
    expect(seen).toEqual(before);
    expect(seen).toHaveLength(5);
  });

  it('oldest first (a whole job): events of the job arriving meanwhile come at the end, each once', async () => {
    const relay = await start();
    for (let i = 0; i < 3; i++) await receive(relay, 'crawl.page', 'job-a');
    await receive(relay, 'crawl.page', 'job-b');
    const seen = await allPages(relay, 'job=job-a&order=asc&limit=2', async (n) => {
      if (n <= 2) await receive(relay, 'crawl.page', 'job-a');
    });
    const all = (await page(relay, 'job=job-a&order=asc&limit=500')).events.map((e) => e.id);
    expect(all).toHaveLength(5);
    expect(seen).toEqual(all);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  });

  it('combines type, job, sink, outcome and a time range', async () => {
    const relay = await start();
    const t0 = new Date(Date.now() - 1000).toISOString();
    await receive(relay, 'crawl.page', 'job-a');
    await receive(relay, 'crawl.started', 'job-a');
    await receive(relay, 'crawl.page', 'job-b');
    await new Promise((resolve) => setTimeout(resolve, 5));
    const t1 = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await receive(relay, 'crawl.page', 'job-a');
    const ids = async (query: string) => (await page(relay, query)).events.map((e) => [e.type, e.job_id, e.sinks]);

    const pending = { archive: 'pending' };
    expect(await ids(`type=crawl.page&job=job-a&sink=archive&outcome=pending&since=${t0}&until=${t1}`)).toEqual([['crawl.page', 'job-a', pending]]);
    expect(await ids(`type=crawl.page&job=job-a&sink=archive&outcome=pending&since=${t1}`)).toEqual([['crawl.page', 'job-a', pending]]);
    expect(await ids(`type=crawl.page&sink=archive&until=${t1}`)).toEqual([
      ['crawl.page', 'job-b', pending],
      ['crawl.page', 'job-a', pending],
    ]);
    expect(await ids('job=job-a&sink=archive&outcome=delivered')).toEqual([]);
    expect(await ids('job=job-a&sink=elsewhere')).toEqual([]);
    expect(await ids(`job=job-a&since=${t1}&until=${t0}`)).toEqual([]);
  });
});
