import { afterAll, beforeAll } from 'vitest';
import { PostgresQueueStore } from '../../src/queue/postgres/store.js';
import { describeWithPostgres, startPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { storeContract } from './store-contract.js';

describeWithPostgres('PostgreSQL queue store', () => {
  let cluster: PostgresCluster;
  let schemas = 0;
  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(() => cluster?.destroy());

  storeContract({
    name: 'postgres',
    reset: async () => void schemas++,
    open: (options = {}) =>
      PostgresQueueStore.open({
        url: cluster.url,
        schema: `contract_${schemas}`,
        maxBytes: options.maxBytes ?? 1 << 30,
        dedupeWindowSeconds: options.dedupeWindowSeconds ?? 86_400,
        ...(options.now ? { now: options.now } : {}),
      }),
  });
});
