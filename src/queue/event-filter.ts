import type { EventFilter } from './store.js';

/**
 * `crawl.page` is that type; `crawl.*` (a trailing `*`) every type starting `crawl.`. substr,
 * not LIKE: type names hold `_` (batch_scrape), and both stores compare it case-sensitively.
 */
function typeClause(type: string, param: (value: unknown) => string): string {
  if (!type.endsWith('*')) return `e.type = ${param(type)}`;
  const prefix = type.slice(0, -1);
  // Characters, as substr counts them in both stores (not UTF-16 units).
  return `substr(e.type, 1, ${[...prefix].length}) = ${param(prefix)}`;
}

/** The URL filter is a plain substring: `%`, `_` and `\` in it match themselves. */
const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * The WHERE of an event listing over `events e`, for both stores: `param` records a value
 * and returns its placeholder (`?` for SQLite, `$n` for PostgreSQL). Outcomes are read from
 * what refers to the event: pending deliveries, dead letters, recorded attempts.
 */
export function eventWhere(filter: EventFilter, param: (value: unknown) => string): string {
  const clauses: string[] = [];
  if (filter.type !== undefined) clauses.push(typeClause(filter.type, param));
  if (filter.url !== undefined) clauses.push(`lower(e.url) LIKE lower(${param(`%${escapeLike(filter.url)}%`)}) ESCAPE '\\'`);
  if (filter.jobId !== undefined) clauses.push(`e.job_id = ${param(filter.jobId)}`);
  if (filter.since !== undefined) clauses.push(`e.received_at >= ${param(filter.since)}`);
  if (filter.until !== undefined) clauses.push(`e.received_at < ${param(filter.until)}`);
  if (filter.cursor !== undefined) clauses.push(`e.id ${filter.oldestFirst ? '>' : '<'} ${param(filter.cursor)}`);
  // Each use of the sink needs its own placeholder (SQLite's `?` is positional).
  const sink = (): string => (filter.sink === undefined ? '' : ` AND sink = ${param(filter.sink)}`);
  switch (filter.outcome) {
    case undefined:
      if (filter.sink !== undefined) {
        clauses.push(`(EXISTS (SELECT 1 FROM deliveries WHERE event_id = e.id${sink()}) OR EXISTS (SELECT 1 FROM dead_letters WHERE event_id = e.id${sink()})
          OR EXISTS (SELECT 1 FROM attempts WHERE event_id = e.id${sink()}))`);
      }
      break;
    case 'pending':
      clauses.push(`EXISTS (SELECT 1 FROM deliveries WHERE event_id = e.id AND attempts = 0${sink()})`);
      break;
    case 'retrying':
      clauses.push(`EXISTS (SELECT 1 FROM deliveries WHERE event_id = e.id AND attempts > 0${sink()})`);
      break;
    case 'dead_lettered':
      clauses.push(`EXISTS (SELECT 1 FROM dead_letters WHERE event_id = e.id${sink()})`);
      break;
    case 'delivered':
      clauses.push(`EXISTS (SELECT 1 FROM attempts WHERE event_id = e.id AND outcome = 'delivered'${sink()})`);
      break;
    case 'unrouted':
      // Stored with no delivery: nothing ever referred to it (attempts go only with their event).
      clauses.push(`NOT EXISTS (SELECT 1 FROM deliveries WHERE event_id = e.id) AND NOT EXISTS (SELECT 1 FROM dead_letters WHERE event_id = e.id)
          AND NOT EXISTS (SELECT 1 FROM attempts WHERE event_id = e.id)`);
      break;
    case 'dropped':
      // As sink-outcome.ts reads it: the last attempt did not deliver, and no dead letter or delivery is left.
      clauses.push(`EXISTS (SELECT 1 FROM attempts a WHERE a.event_id = e.id AND a.outcome <> 'delivered'${sink()}
          AND a.id = (SELECT max(id) FROM attempts x WHERE x.event_id = e.id AND x.sink = a.sink)
          AND NOT EXISTS (SELECT 1 FROM dead_letters x WHERE x.event_id = e.id AND x.sink = a.sink)
          AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.event_id = e.id AND x.sink = a.sink))`);
      break;
  }
  return clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
}

/** An event listing over `events e` for both stores: `columns`, the filter's WHERE, by id, at most 500. */
export function eventListSql(filter: EventFilter, columns: string, param: (value: unknown) => string): string {
  const limit = Math.max(1, Math.min(500, Math.floor(filter.limit ?? 50)));
  return `SELECT ${columns} FROM events e ${eventWhere(filter, param)} ORDER BY e.id ${filter.oldestFirst ? 'ASC' : 'DESC'} LIMIT ${limit}`;
}
