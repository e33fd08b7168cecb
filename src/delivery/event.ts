import { payloadOf, withoutBom } from '../ingress/envelope.js';
import type { RelayEvent } from '../plugin-api/types.js';
import type { StoredDelivery } from '../queue/store.js';
import { deepFreeze } from './deep-freeze.js';
import type { PayloadCache } from './payload-cache.js';

/**
 * The event a sink is handed for one stored delivery. The body is parsed here, once per
 * delivery and before any write: a body that does not parse fails this event alone
 * (it is dead-lettered with the reason), never the batch it came in. A payload the
 * ingress parsed moments ago is taken from `parsed` instead: the same normal form.
 *
 * Sinks share the payload (cached) and the stored body (the store's cache), so a plugin that
 * changes either must not change what the others get: the payload is deep-frozen (once per
 * event: a frozen one is not walked again). A Buffer cannot be frozen: built-in sinks share
 * the stored bytes (they never write to them), and a plugin gets its own copy where it is
 * wrapped (read-only-payload.ts). Measured in docs/plugins.md ("Events").
 */
export function toEvent(delivery: StoredDelivery, parsed?: PayloadCache): RelayEvent {
  const payload = deepFreeze(parsed?.get(delivery.eventId) ?? payloadOf(delivery.body, delivery.jobId));
  return {
    deliveryId: String(delivery.id),
    eventId: String(delivery.eventId),
    source: delivery.source,
    receivedAt: new Date(delivery.receivedAt),
    attempt: delivery.attempts + 1,
    type: delivery.type,
    jobId: delivery.jobId,
    success: payload.success,
    payload,
    // A body stored by a 0.1 queue kept its BOM; the ingress strips it from newer ones (the first
    // byte tells, without the slice withoutBom makes to compare).
    raw: delivery.body[0] === 0xef ? withoutBom(delivery.body) : delivery.body,
  };
}
