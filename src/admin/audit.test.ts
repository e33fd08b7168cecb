import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, adminAuth, adminRelayWithDeadLetters } from '../../test/helpers/admin.js';
import { capturedLogger } from '../../test/helpers/logs.js';

type Line = Record<string, unknown>;

describe('admin audit lines', () => {
  let close = async (): Promise<void> => {};
  afterEach(() => close());

  async function withDeadLetters() {
    const logs = capturedLogger();
    const built = await adminRelayWithDeadLetters({ logger: logs.logger });
    close = built.close;
    const audits = () => logs.lines.map((line) => JSON.parse(line) as Line).filter((line) => 'audit' in line);
    return { relay: built.relay, logs, audits };
  }

  it('logs who replayed, dropped, backfilled, paused, resumed and sent a test event: what, how many, which filter', async () => {
    const { relay, logs, audits } = await withDeadLetters();
    const post = (url: string, payload?: object) => relay.app.inject({ method: 'POST', url, headers: adminAuth, ...(payload && { payload }) });
    await post('/admin/dead-letters/replay', { job: 'job-1' });
    await post('/admin/dead-letters/drop', { sink: 'rec', job: 'job-2', since: '2020-01-01T00:00:00.000Z' });
    await post('/admin/dead-letters/drop', { all: true });
    await post('/admin/sinks/rec/pause');
    await post('/admin/sinks/rec/resume');
    await post('/admin/backfill', { sink: 'rec', since: '2020-01-01T00:00:00Z', type: 'crawl.page' });
    const test = (await post('/admin/test-event', { type: 'crawl.started' })).json();

    const lines = audits();
    expect(lines.map((l) => [l.audit, l.msg, l.level])).toEqual([
      ['dead_letters.replay', 'dead letters replayed', 30],
      ['dead_letters.drop', 'dead letters dropped', 30],
      ['dead_letters.drop', 'dead letters dropped', 30],
      ['sink.pause', 'sink paused', 30],
      ['sink.resume', 'sink resumed', 30],
      ['backfill', 'events backfilled', 30],
      ['test_event', 'test event sent', 30],
    ]);
    for (const line of lines) expect(line.peer).toBe('127.0.0.1');
    expect(lines[0]).toMatchObject({ count: 1, filter: { jobId: 'job-1' } });
    expect(lines[1]).toMatchObject({ count: 1, filter: { sink: 'rec', jobId: 'job-2', since: '2020-01-01T00:00:00.000Z' } });
    expect(lines[2]).toMatchObject({ count: expect.any(Number), filter: { all: true } });
    expect(lines[3]).toMatchObject({ sink: 'rec' });
    expect(lines[5]).toMatchObject({ sink: 'rec', count: expect.any(Number), filter: { type: 'crawl.page', since: '2020-01-01T00:00:00.000Z' } });
    expect(lines[6]).toMatchObject({ count: 1, type: 'crawl.started', event_id: test.event_id, job_id: test.job_id, sinks: ['rec'] });
    const text = logs.lines.join('');
    expect(text).not.toContain(ADMIN_TOKEN);
    expect(text).not.toContain('PAYLOAD-TEXT');
  });

  it('logs refused admin requests as one warning per peer per minute with a count, never the token tried', async () => {
    const { relay, audits } = await withDeadLetters();
    for (let i = 0; i < 5; i++) {
      await relay.app.inject({ method: 'GET', url: '/admin/dead-letters', headers: { authorization: `Bearer guess-number-${i}` } });
    }
    await relay.app.inject({ method: 'GET', url: '/admin/dead-letters' });
    await relay.app.inject({ method: 'GET', url: '/admin/dead-letters', headers: adminAuth });
    expect(audits()).toEqual([expect.objectContaining({ audit: 'login_failed', peer: '127.0.0.1', count: 1, level: 40 })]);
    // The other five are reported when the minute ends (failed-logins.test.ts), or at close:
    await close();
    close = async () => {};
    expect(audits().map((l) => [l.audit, l.count])).toEqual([
      ['login_failed', 1],
      ['login_failed', 5],
    ]);
    expect(JSON.stringify(audits())).not.toContain('guess-number');
  });
});
