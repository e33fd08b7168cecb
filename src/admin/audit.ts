import type { FastifyRequest } from 'fastify';
import type { DeadLetterFilter, EventFilter } from '../queue/store.js';

/** What an operator did through the admin API that changes what gets delivered. */
export type AuditAction = 'dead_letters.replay' | 'dead_letters.drop' | 'backfill' | 'sink.pause' | 'sink.resume' | 'test_event';

/** Ids named in one audit line; the rest are counted (a replay of 10 000 ids is one short line). */
const IDS_SHOWN = 20;

/**
 * One structured line per operator action: who (the peer address), what, how many, and the
 * filter used. Fields are names, ids and counts only: never the token, never a payload.
 */
export function audit(request: FastifyRequest, action: AuditAction, fields: Record<string, unknown>, message: string): void {
  request.log.info({ audit: action, peer: request.ip, ...fields }, message);
}

/** A selection as an audit line shows it: times as ISO dates, at most IDS_SHOWN ids; nothing narrowed is `all`. */
export function filterForAudit(filter: DeadLetterFilter | EventFilter): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(filter)) {
    if (value === undefined || key === 'oldestFirst') continue;
    if (key === 'since' || key === 'until') out[key] = new Date(value as number).toISOString();
    else if (key === 'ids') {
      const ids = value as readonly number[];
      out.ids = ids.slice(0, IDS_SHOWN);
      if (ids.length > IDS_SHOWN) out.ids_total = ids.length;
    } else out[key] = value;
  }
  return Object.keys(out).length > 0 ? out : { all: true };
}
