import { afterEach, describe, expect, it } from 'vitest';
import { adminAuth, adminRelay } from '../../test/helpers/admin.js';

describe('POST /admin/test-event', () => {
  let close = async (): Promise<void> => {};
  afterEach(() => close());

  it('gives each test event a job id and webhookId of its own, so two tests are two jobs', async () => {
    const built = await adminRelay();
    close = built.close;
    const { app } = built.relay;
    const send = async () => (await app.inject({ method: 'POST', url: '/admin/test-event', headers: adminAuth, payload: { type: 'crawl.started' } })).json();
    const first = await send();
    const second = await send();
    expect(first.job_id).not.toBe(second.job_id);
    for (const sent of [first, second]) {
      const job = (await app.inject({ method: 'GET', url: `/admin/events?job=${sent.job_id}`, headers: adminAuth })).json();
      expect(job.events.map((e: { id: number }) => e.id)).toEqual([sent.event_id]);
    }
    const bodies = await Promise.all(
      [first, second].map(async (sent) => (await app.inject({ method: 'GET', url: `/admin/events/${sent.event_id}`, headers: adminAuth })).json().payload),
    );
    expect(bodies[0].id).toBe(first.job_id);
    expect(bodies[0].webhookId).toEqual(expect.any(String));
    expect(bodies[0].webhookId).not.toBe(bodies[1].webhookId);
  });
});
