import { afterEach, expect, it } from 'vitest';
import { openSqliteStore, type SqliteStore } from './store.js';
import { prepareStatements } from './statements.js';
import { tempDir } from '../../../test/helpers/temp-dir.js';

let store: SqliteStore | undefined;
let cleanup = (): void => {};
afterEach(async () => {
  await store?.close();
  cleanup();
});

it('runs every per-row statement through an index: no scan, no sort', async () => {
  const temp = tempDir();
  cleanup = temp.cleanup;
  store = openSqliteStore({ dir: temp.dir, maxBytes: 1 << 30, dedupeWindowSeconds: 60 });
  const body = Buffer.from('{}');
  for (let n = 0; n < 300; n++) {
    await store.enqueue({ source: 'f', type: 't', jobId: `J${n % 7}`, dedupeKey: `${n}`, body, sinks: ['s', 't'] });
  }
  store.db.exec('ANALYZE');
  const statements = prepareStatements(store.db);
  for (const [name, statement] of Object.entries(statements)) {
    if (name === 'pageCount' || name === 'freePages') continue;
    const params = statement.source.split('?').length - 1;
    const plan = (
      store.db.prepare(`EXPLAIN QUERY PLAN ${statement.source}`).all(...Array.from({ length: params }, () => 1)) as Array<{
        detail: string;
      }>
    )
      .map((r) => r.detail)
      .join('\n');
    // A set-wise statement reads the JSON list it is handed whole, by design: that scan is of the list.
    expect(plan.replace(/SCAN json_each VIRTUAL TABLE\b.*/g, ''), name).not.toMatch(/\bSCAN\b|TEMP B-TREE/);
  }
});
