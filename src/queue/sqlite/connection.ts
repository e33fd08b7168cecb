import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';

/** The queue's database file inside `dir`. */
export const databasePath = (dir: string): string => join(dir, 'relay.db');

/**
 * Opens the queue database in WAL mode with synchronous=NORMAL: settling commits without a
 * sync (losing one in a power cut only redelivers). An enqueue is made durable before its
 * ack either by synchronous=FULL on its commit or by the store's own fdatasync of the WAL
 * (wal-sync.ts); checkpoints sync the WAL before and the database after, as SQLite does.
 */
export function openDatabase(dir: string): Database {
  mkdirSync(dir, { recursive: true });
  const db = new BetterSqlite3(databasePath(dir));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  return db;
}
