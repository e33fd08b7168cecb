import type { SourceConfig } from '../config/types.js';
import type { FirecrawlPayload } from '../plugin-api/types.js';
import { dedupeKeyOf } from './envelope.js';

/**
 * The queue's dedupe key for a webhook, or null when it must not be deduplicated.
 * `webhook_id` keys on the sender's `webhookId` only: senders without one (self-hosted
 * Firecrawl) legitimately send identical bodies twice, e.g. a second `batch_scrape.started`
 * after `appendToId`. `body` also keys on the body's SHA-256 when there is no webhookId.
 */
export function dedupeKey(source: Pick<SourceConfig, 'name' | 'dedupe'>, payload: FirecrawlPayload, body: Buffer): string | null {
  if (source.dedupe === 'none' || (source.dedupe === 'webhook_id' && !payload.webhookId)) return null;
  return `${source.name}:${dedupeKeyOf(payload, body)}`;
}
