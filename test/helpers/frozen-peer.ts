/**
 * A relay replica's session caught mid-transaction: it opens a connection set up as the
 * relay's are, takes the row locks an ingress commit takes (a dedupe key, a lane), prints
 * "locked" and waits, for the test to SIGSTOP it. Argv: url, schema, dedupe key, job id.
 */
import pg from 'pg';
import { clientConfig } from '../../src/queue/postgres/pool.js';

const [url, schema, key, jobId] = process.argv.slice(2) as [string, string, string, string];
const client = new pg.Client(clientConfig({ url, schema }));
client.on('error', () => undefined);
await client.connect();
await client.query('BEGIN');
await client.query('INSERT INTO dedupe (key, seen_at) VALUES ($1, $2)', [key, Date.now()]);
await client.query(`UPDATE lanes SET pending = pending WHERE sink = 'archive' AND job_id = $1`, [jobId]);
process.stdout.write('locked\n');
setInterval(() => undefined, 60_000);
