import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { SqliteDatabase } from './driver.js';


/**
 * Opens the queue database in WAL mode with synchronous=NORMAL: settling commits without a
 * sync (losing one in a power cut only redelivers); an enqueue commit switches to FULL
 * (enqueue.ts), so its ack follows the WAL sync.
 */
export function openDatabase(dir: string): Database {
  mkdirSync(dir, { recursive: true });
  const db = new SqliteDatabase(join(dir, 'relay.db'));
  // First, so that a relay and a CLI command opening the queue at once wait for each other.
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  return db;
}
