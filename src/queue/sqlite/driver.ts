import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

const require = createRequire(import.meta.url);
const major = Number(process.versions.node.split('.')[0]);

/**
 * The SQLite driver for the Node that runs: better-sqlite3 13 (Node-API) on Node 24 and
 * later, better-sqlite3 12 before. 12 subclasses node::ObjectWrap, whose destructor on
 * Node 24 aborts the process (`Assertion failed: (env) != nullptr`) when a statement is
 * collected at the wrong moment (seen here at start-up and at exit); 13 has no such
 * destructor but segfaults on Node 20. Both have the same API; drop 12 with Node 20.
 */
export const SqliteDatabase: typeof BetterSqlite3 = require(major >= 24 ? 'better-sqlite3-napi' : 'better-sqlite3');
