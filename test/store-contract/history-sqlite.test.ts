import { join } from 'node:path';
import { afterAll } from 'vitest';
import { SqliteStore } from '../../src/queue/sqlite/store.js';
import { tempDir } from '../helpers/relay.js';
import { historyContract } from './history-contract.js';

const tmp = tempDir('relay-history-');
afterAll(() => tmp.cleanup());
let stores = 0;

historyContract({
  name: 'sqlite',
  open: async ({ retentionMs, now, again, maxBytes = 1 << 30, historyMaxBytes = maxBytes }) =>
    new SqliteStore({ dir: join(tmp.dir, String(again ? stores : ++stores)), maxBytes, dedupeWindowSeconds: 0, history: { retentionMs, maxBytes: historyMaxBytes }, now }),
});
