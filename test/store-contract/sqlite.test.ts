import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openSqliteStore } from '../../src/queue/sqlite/store.js';
import { storeContract } from './store-contract.js';

const root = mkdtempSync(join(tmpdir(), 'relay-store-contract-'));
let dirs = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

storeContract({
  name: 'sqlite',
  reset: async () => void dirs++,
  open: async (options = {}) =>
    openSqliteStore({
      dir: join(root, `q${dirs}`),
      maxBytes: options.maxBytes ?? 1 << 30,
      dedupeWindowSeconds: options.dedupeWindowSeconds ?? 86_400,
      ...(options.now ? { now: options.now } : {}),
    }),
});
