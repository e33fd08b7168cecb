import * as crypto from 'node:crypto';
import Fastify from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bearerAuth } from './auth.js';

// Records what reaches the constant-time compare; the comparison itself stays Node's.
vi.mock('node:crypto', async (original) => {
  const actual = await original<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});

const TOKEN = 'admin-token-for-tests-0123456789';

async function appWithAuth() {
  const app = Fastify();
  app.addHook('onRequest', bearerAuth(TOKEN, () => undefined));
  app.get('/admin/x', async () => ({ ok: true }));
  await app.ready();
  return app;
}

const statusWith = async (authorization: string) => {
  const app = await appWithAuth();
  const response = await app.inject({ method: 'GET', url: '/admin/x', headers: { authorization } });
  await app.close();
  return { status: response.statusCode, code: response.statusCode === 200 ? null : response.json().error.code };
};

describe('admin bearer token', () => {
  afterEach(() => vi.mocked(crypto.timingSafeEqual).mockClear());

  it('accepts the scheme in any case, as RFC 7235 says (bearer, BEARER, Bearer)', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer', 'bEaReR']) {
      expect(await statusWith(`${scheme} ${TOKEN}`)).toEqual({ status: 200, code: null });
    }
  });

  it('refuses another scheme as missing, and a wrong token of any length as invalid', async () => {
    expect(await statusWith(`Basic ${TOKEN}`)).toEqual({ status: 401, code: 'RELAY_ERR_ADMIN_TOKEN_MISSING' });
    expect(await statusWith('bearer')).toEqual({ status: 401, code: 'RELAY_ERR_ADMIN_TOKEN_MISSING' });
    for (const wrong of ['x', TOKEN.slice(0, -1), `${TOKEN}0`, TOKEN.replace('a', 'b')]) {
      expect(await statusWith(`Bearer ${wrong}`)).toEqual({ status: 401, code: 'RELAY_ERR_ADMIN_TOKEN_INVALID' });
    }
  });

  it('compares fixed-length digests even when the lengths differ: no early return that times the length', async () => {
    await statusWith('Bearer x');
    await statusWith(`Bearer ${TOKEN}${'y'.repeat(100)}`);
    const calls = vi.mocked(crypto.timingSafeEqual).mock.calls;
    expect(calls).toHaveLength(2);
    for (const [given, expected] of calls) {
      expect([(given as Buffer).length, (expected as Buffer).length]).toEqual([32, 32]);
      expect((given as Buffer).equals(Buffer.from('x'))).toBe(false);
    }
  });
});
