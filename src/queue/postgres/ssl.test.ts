import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithPostgres, startPostgres, type PostgresCluster } from '../../../test/helpers/postgres.js';
import { explicitSslMode } from './ssl.js';
import { PostgresQueueStore } from './store.js';

describe('explicitSslMode', () => {
  it.each([
    ['postgres://u@h/db?sslmode=require', 'postgres://u@h/db?sslmode=verify-full'],
    ['postgres://u@h/db?a=1&sslmode=prefer&b=2', 'postgres://u@h/db?a=1&sslmode=verify-full&b=2'],
    ['postgres://u@h/db?sslmode=verify-ca', 'postgres://u@h/db?sslmode=verify-full'],
    ['postgres://u@h/db?sslmode=disable', 'postgres://u@h/db?sslmode=disable'],
    ['postgres://u@h/db?uselibpqcompat=true&sslmode=require', 'postgres://u@h/db?uselibpqcompat=true&sslmode=require'],
  ])('names the mode node-postgres applies to %s', (url, expected) => {
    expect(explicitSslMode(url)).toBe(expected);
  });
});

describeWithPostgres('PostgreSQL queue store: SSL asked of a server without it', () => {
  let cluster: PostgresCluster;
  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(() => cluster?.destroy());

  it('refuses to start naming SSL and the sslmode, not "did not answer", and prints no SECURITY WARNING', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const opening = PostgresQueueStore.open({ url: `${cluster.url}?sslmode=require`, maxBytes: 1 << 30, dedupeWindowSeconds: 60 });
      await expect(opening).rejects.toMatchObject({
        code: 'RELAY_ERR_QUEUE_SSL',
        message: expect.stringMatching(/answered, and the SSL connection queue\.url asks for \(sslmode=require\) failed: The server does not support SSL connections/),
      });
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      expect(warnings.filter((w) => w.includes('SECURITY WARNING'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
