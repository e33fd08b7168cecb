import { describe, expect, it } from 'vitest';
import type { Relay } from '../relay.js';
import { adminAuth, adminRelayEachTest } from '../../test/helpers/admin.js';
import { sampleEvent, signedRequest } from '../../test/helpers/webhooks.js';

describe('GET /admin/events and POST /admin/backfill by page URL and type prefix', () => {
  const start = adminRelayEachTest();
  const receive = async (relay: Relay, type: string, job: string, url?: string) => {
    const data = url === undefined ? [] : [{ markdown: '# m', metadata: { url, sourceURL: url, statusCode: 200 } }];
    expect((await relay.app.inject(signedRequest(sampleEvent(type, { id: job, data })))).statusCode).toBe(200);
  };
  const listed = async (relay: Relay, query: string): Promise<string[]> => {
    const response = await relay.app.inject({ method: 'GET', url: `/admin/events?order=asc&${query}`, headers: adminAuth });
    expect(response.statusCode).toBe(200);
    return (response.json() as { events: Array<{ type: string; job_id: string }> }).events.map((e) => `${e.type} ${e.job_id}`);
  };

  it('answers "did the crawl of example.com get here?" without a job id', async () => {
    const relay = await start();
    await receive(relay, 'crawl.page', 'job-1', 'https://Example.com/pricing');
    await receive(relay, 'batch_scrape.page', 'job-2', 'https://example.com/about');
    await receive(relay, 'crawl.page', 'job-3', 'https://other.test/');
    await receive(relay, 'crawl.completed', 'job-1');

    expect(await listed(relay, 'url=example.com')).toEqual(['crawl.page job-1', 'batch_scrape.page job-2']);
    expect(await listed(relay, `url=${encodeURIComponent('EXAMPLE.com/')}&type=${encodeURIComponent('crawl.*')}`)).toEqual(['crawl.page job-1']);
    expect(await listed(relay, `type=${encodeURIComponent('crawl.*')}`)).toEqual(['crawl.page job-1', 'crawl.page job-3', 'crawl.completed job-1']);

    const backfill = await relay.app.inject({
      method: 'POST',
      url: '/admin/backfill',
      headers: adminAuth,
      payload: { sink: 'archive', since: '2020-01-01T00:00:00Z', type: 'crawl.*', url: 'example.com' },
    });
    expect(backfill.json()).toEqual({ sink: 'archive', queued: 1 });
  });

  it('describes the url filter and the type prefix in the OpenAPI document', async () => {
    const relay = await start();
    const doc = (await relay.app.inject({ method: 'GET', url: '/admin/openapi.json', headers: adminAuth })).json();
    const parameters = doc.paths['/admin/events'].get.parameters as Array<{ name: string; description?: string }>;
    expect(parameters.find((p) => p.name === 'url')?.description).toMatch(/contains this, in any case/);
    expect(parameters.find((p) => p.name === 'type')?.description).toMatch(/crawl\.\*/);
    const backfillBody = doc.paths['/admin/backfill'].post.requestBody.content['application/json'].schema;
    expect(Object.keys(backfillBody.properties)).toContain('url');
  });
});
