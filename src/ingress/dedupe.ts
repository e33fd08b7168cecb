import { createHash } from 'node:crypto';
import type { SourceConfig } from '../config/types.js';
import { webhookIdOf } from '../plugin-api/webhook-id.js';
import type { FirecrawlPayload } from '../plugin-api/types.js';

/**
 * The queue's dedupe key for a webhook, or null when it is not deduplicated. Keys are
 * `<source>:webhook:<webhookId>` or `<source>:sha256:<hex of the raw body>`.
 * - `webhook_id` (default): the webhookId key; no key without a webhookId (a non-empty string).
 *   Senders without one (self-hosted Firecrawl) send identical bodies as distinct events,
 *   e.g. a second `batch_scrape.started` after `appendToId`.
 * - `body`: the webhookId key when there is one, else the body's SHA-256.
 * - `none`: never a key.
 */
export function dedupeKey(source: Pick<SourceConfig, 'name' | 'dedupe'>, payload: FirecrawlPayload, body: Buffer): string | null {
  if (source.dedupe === 'none') return null;
  const webhookId = webhookIdOf(payload);
  if (webhookId !== undefined) return `${source.name}:webhook:${webhookId}`;
  return source.dedupe === 'body' ? `${source.name}:sha256:${createHash('sha256').update(body).digest('hex')}` : null;
}
