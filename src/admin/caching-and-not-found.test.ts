import { afterEach, describe, expect, it } from 'vitest';
import { adminAuth, adminRelay } from '../../test/helpers/admin.js';
import type { Relay } from '../relay.js';

let closeRelay = async (): Promise<void> => {};
afterEach(async () => {
  await closeRelay();
  closeRelay = async () => {};
});

async function start(): Promise<Relay> {
  const { relay, close } = await adminRelay();
  closeRelay = close;
  return relay;
}

describe('admin and console answers: caching', () => {
  it('marks every /admin answer no-store, refusals and errors included', async () => {
    const r = await start();
    const answers = await Promise.all([
      r.app.inject({ method: 'GET', url: '/admin/events', headers: adminAuth }),
      r.app.inject({ method: 'GET', url: '/admin/sinks', headers: adminAuth }),
      r.app.inject({ method: 'GET', url: '/admin/dead-letters', headers: adminAuth }),
      r.app.inject({ method: 'GET', url: '/admin/events/999999', headers: adminAuth }),
      r.app.inject({ method: 'GET', url: '/admin/openapi.json', headers: adminAuth }),
      r.app.inject({ method: 'GET', url: '/admin/events' }),
    ]);
    expect(answers.map((a) => [a.statusCode, a.headers['cache-control']])).toEqual([
      [200, 'no-store'],
      [200, 'no-store'],
      [200, 'no-store'],
      [404, 'no-store'],
      [200, 'no-store'],
      [401, 'no-store'],
    ]);
  });

  it('never keeps the console page; its scripts and styles may be kept and revalidated', async () => {
    const r = await start();
    const header = async (url: string) => {
      const response = await r.app.inject({ method: 'GET', url });
      return [response.statusCode, response.headers['cache-control']];
    };
    expect(await header('/console/')).toEqual([200, 'no-store']);
    expect(await header('/console/index.html')).toEqual([200, 'no-store']);
    expect(await header('/console/app.js')).toEqual([200, 'no-cache']);
    expect(await header('/console/style.css')).toEqual([200, 'no-cache']);
  });
});

describe('admin and console answers: not found', () => {
  it('answers a console address that does not exist with a console 404, not the ingress one', async () => {
    const r = await start();
    const response = await r.app.inject({ method: 'GET', url: '/console/nonexistent?x=1' });
    expect(response.statusCode).toBe(404);
    expect(response.json().error).toEqual({
      code: 'RELAY_ERR_ADMIN_CONSOLE_NOT_FOUND',
      message: 'no console page or file at GET /console/nonexistent (the console is at /console/)',
    });
  });

  it('answers an admin route that does not exist with an admin 404, not the ingress one', async () => {
    const r = await start();
    const response = await r.app.inject({ method: 'DELETE', url: '/admin/sinks', headers: adminAuth });
    expect(response.statusCode).toBe(404);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.json().error).toEqual({
      code: 'RELAY_ERR_ADMIN_ROUTE_NOT_FOUND',
      message: 'no admin route answers DELETE /admin/sinks (the routes are listed at GET /admin/openapi.json)',
    });
  });

  it('still answers other unknown paths as the ingress does', async () => {
    const r = await start();
    const response = await r.app.inject({ method: 'POST', url: '/administrator', payload: {} });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe('RELAY_ERR_INGRESS_NOT_FOUND');
  });
});
