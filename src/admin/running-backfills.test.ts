import { afterEach, describe, expect, it } from 'vitest';
import { adminAuth, adminRelay } from '../../test/helpers/admin.js';
import type { Relay } from '../relay.js';

let closeRelay = async (): Promise<void> => {};
afterEach(async () => {
  await closeRelay();
  closeRelay = async () => {};
});

/** The relay's own store, its backfill held at a gate until the test opens it. */
async function relayWithHeldBackfill(): Promise<{ relay: Relay; started: string[]; open: () => void }> {
  const { relay, close } = await adminRelay();
  closeRelay = close;
  const history = relay.queue.history;
  const original = history.backfill.bind(history);
  const started: string[] = [];
  let open = (): void => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  history.backfill = async (sink, filter, chunk, progress) => {
    started.push(`${sink} ${filter.type ?? '*'}`);
    await gate;
    return original(sink, filter, chunk, progress);
  };
  return { relay, started, open: () => open() };
}

const backfill = (relay: Relay, body: Record<string, string>) =>
  relay.app.inject({ method: 'POST', url: '/admin/backfill', headers: adminAuth, payload: body });

describe('POST /admin/backfill, one at a time per sink and filter', () => {
  it('refuses a second identical backfill while the first runs (409), runs another filter, and runs it again once the first ended', async () => {
    const { relay, started, open } = await relayWithHeldBackfill();
    const since = '2020-01-01T00:00:00.000Z';
    const first = backfill(relay, { sink: 'archive', since, type: 'crawl.page' });
    while (started.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));

    // The same fields in another order: the same backfill (a double click).
    const second = await backfill(relay, { type: 'crawl.page', since, sink: 'archive' });
    expect(second.statusCode).toBe(409);
    expect(second.json().error).toEqual({
      code: 'RELAY_ERR_ADMIN_BACKFILL_RUNNING',
      message: `expected one backfill per sink and filter at a time, got a second for sink "archive" (since=${since} type=crawl.page) while the first runs: wait for its result`,
    });
    const other = backfill(relay, { sink: 'archive', since, type: 'crawl.completed' });
    while (started.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(started).toEqual(['archive crawl.page', 'archive crawl.completed']);

    open();
    expect((await first).statusCode).toBe(200);
    expect((await other).statusCode).toBe(200);
    expect((await backfill(relay, { sink: 'archive', since, type: 'crawl.page' })).statusCode).toBe(200);
    expect(started).toEqual(['archive crawl.page', 'archive crawl.completed', 'archive crawl.page']);
  });

  it('frees the filter when a backfill fails, so it can be asked again', async () => {
    const { relay, close } = await adminRelay();
    closeRelay = close;
    const history = relay.queue.history;
    const original = history.backfill.bind(history);
    let failing = true;
    history.backfill = async (...args) => {
      if (failing) throw new Error('disk full');
      return original(...args);
    };
    const body = { sink: 'archive', since: '2020-01-01T00:00:00.000Z' };
    expect((await backfill(relay, body)).statusCode).toBe(400);
    failing = false;
    expect((await backfill(relay, body)).statusCode).toBe(200);
  });
});
