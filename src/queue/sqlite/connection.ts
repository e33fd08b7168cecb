import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';

/** The queue's database file inside `dir`. */
export const databasePath = (dir: string): string => join(dir, 'relay.db');

/**
 * Opens the queue database in WAL mode. Commits run with synchronous=NORMAL: the WAL is
 * made durable by the store's own fdatasync (wal-sync.ts) before any ack, off the main
 * thread; checkpoints still sync the WAL before and the database after, as SQLite does.
 */
export function openDatabase(dir: string): Database {
  mkdirSync(dir, { recursive: true });
  const db = new BetterSqlite3(databasePath(dir));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  return db;
}
