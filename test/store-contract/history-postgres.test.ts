import { afterAll, beforeAll } from 'vitest';
import { PostgresQueueStore } from '../../src/queue/postgres/store.js';
import { describeWithPostgres, startPostgres, type PostgresCluster } from '../helpers/postgres.js';
import { historyContract } from './history-contract.js';

describeWithPostgres('PostgreSQL history', () => {
  let cluster: PostgresCluster;
  let schemas = 0;
  beforeAll(async () => {
    cluster = await startPostgres();
  });
  afterAll(() => cluster?.destroy());

  historyContract({
    name: 'postgres',
    open: ({ retentionMs, now, again, maxBytes = 1 << 30, historyMaxBytes = maxBytes }) =>
      PostgresQueueStore.open({
        url: cluster.url,
        schema: `history_${again ? schemas : ++schemas}`,
        maxBytes,
        dedupeWindowSeconds: 0,
        history: { retentionMs, maxBytes: historyMaxBytes },
        now,
      }),
  });
});
