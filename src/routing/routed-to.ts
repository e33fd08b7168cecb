import { payloadOf } from '../ingress/envelope.js';
import type { StoredEventHead } from '../queue/store.js';
import type { Router } from './router.js';

/**
 * Whether the routes in force now would send a stored event to `sink`: what a backfill
 * queues by default (the routing explanation's match, on the stored payload). A body that
 * no longer parses matches nothing.
 */
export function routedTo(router: Router, sink: string): (event: StoredEventHead) => boolean {
  return (event) => {
    try {
      return router.match(payloadOf(event.body, event.jobId), event.source).sinks.includes(sink);
    } catch {
      return false;
    }
  };
}
