/**
 * Event types Firecrawl documents. Others are accepted and routed too, and counted apart.
 * No sender emits `crawl.cancelled` (self-hosted ends a cancelled crawl with `crawl.completed`;
 * the hosted docs list only `agent.cancelled`), so a route naming it gets a warning.
 */
export const KNOWN_EVENT_TYPES = [
  'crawl.started',
  'crawl.page',
  'crawl.completed',
  'crawl.failed',
  'batch_scrape.started',
  'batch_scrape.page',
  'batch_scrape.completed',
  'batch_scrape.failed',
  'extract.started',
  'extract.completed',
  'extract.failed',
  'agent.started',
  'agent.action',
  'agent.completed',
  'agent.failed',
  'agent.cancelled',
  'monitor.page',
  'monitor.check.completed',
] as const;

const KNOWN = new Set<string>(KNOWN_EVENT_TYPES);

export function isKnownEventType(type: string): boolean {
  return KNOWN.has(type);
}

/** The words of Firecrawl's own `webhook.events` filter: the last part of a type. */
export const FIRECRAWL_EVENT_WORDS = ['started', 'page', 'completed', 'failed', 'cancelled', 'action'] as const;
