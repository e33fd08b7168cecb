import type pg from 'pg';
import { RelayError } from '../../errors.js';
import { DEFAULT_SCHEMA, quoteIdentifier } from './pool.js';

/** Every queue table, and what a replica does to it (meta: it only reads the version once migrated). */
const TABLE_PRIVILEGES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ...['events', 'deliveries', 'lanes', 'dead_letters', 'dedupe', 'sink_counters', 'queue_usage', 'attempts', 'paused_sinks'].map(
    (table) => [table, ['SELECT', 'INSERT', 'UPDATE', 'DELETE']] as const,
  ),
  ['meta', ['SELECT']],
];
/** Ids drawn with nextval(), explicitly or through a bigserial default. */
const SEQUENCES = ['events_id_seq', 'deliveries_id_seq', 'attempts_id_seq'];

/**
 * Refuses to start when the role lacks a right the relay needs on a queue table or sequence:
 * otherwise it would start, report ready, ack webhooks and fail each delivery for ever
 * (a revoked INSERT on attempts). One statement, after migrating.
 */
export async function checkPrivileges(client: pg.ClientBase, schema: string | undefined, where: string): Promise<void> {
  const name = schema ?? DEFAULT_SCHEMA;
  const wanted = [
    ...TABLE_PRIVILEGES.flatMap(([table, privileges]) => privileges.map((privilege) => ({ kind: 'table', object: table, privilege }))),
    ...SEQUENCES.map((sequence) => ({ kind: 'sequence', object: sequence, privilege: 'USAGE' })),
  ];
  const rows = await client.query<{ role: string; missing: boolean[] }>(
    `SELECT current_user AS role, array_agg(NOT CASE w.kind WHEN 'table' THEN has_table_privilege(w.qualified, w.privilege)
                                                            ELSE has_sequence_privilege(w.qualified, w.privilege) END ORDER BY w.n) AS missing
     FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS w(kind, qualified, privilege, n)`,
    [wanted.map((w) => w.kind), wanted.map((w) => `${quoteIdentifier(name)}.${quoteIdentifier(w.object)}`), wanted.map((w) => w.privilege)],
  );
  const { role, missing } = rows.rows[0]!;
  const absent = wanted.filter((_, i) => missing[i]);
  if (absent.length === 0) return;
  // One GRANT per object, its privileges together.
  const byObject = new Map<string, { kind: string; privileges: string[] }>();
  for (const a of absent) {
    const entry = byObject.get(a.object) ?? { kind: a.kind, privileges: [] };
    entry.privileges.push(a.privilege);
    byObject.set(a.object, entry);
  }
  const grants = [...byObject].map(
    ([object, { kind, privileges }]) =>
      `GRANT ${privileges.join(', ')} ON ${kind === 'sequence' ? 'SEQUENCE ' : ''}${quoteIdentifier(name)}.${object} TO ${quoteIdentifier(role)};`,
  );
  throw new RelayError('RELAY_ERR_QUEUE_PRIVILEGE', [
    where,
    role,
    'SELECT, INSERT, UPDATE, DELETE on every queue table and USAGE on its sequences',
    [...byObject].map(([object, { privileges }]) => `${privileges.join(', ')} on ${name}.${object}`).join('; '),
    grants.join(' '),
  ]);
}
