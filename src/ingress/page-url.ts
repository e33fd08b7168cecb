import type { FirecrawlPayload } from '../plugin-api/types.js';

/** Longest page URL kept for the console's lists; the payload keeps the whole one. */
export const MAX_URL_CHARS = 2048;

/**
 * A page event's URL, read once at ingress from the parsed payload and stored beside the
 * event, so listing events never parses stored bodies: the first page's `metadata.url`, else
 * its `sourceURL`, without NUL characters, at most MAX_URL_CHARS characters; null for other events or without one.
 */
export function pageUrlOf(payload: FirecrawlPayload): string | null {
  if (!payload.type.endsWith('.page') || !Array.isArray(payload.data)) return null;
  const metadata = (payload.data[0] as { metadata?: Record<string, unknown> } | undefined)?.metadata;
  if (typeof metadata !== 'object' || metadata === null) return null;
  const url = typeof metadata.url === 'string' ? metadata.url : typeof metadata.sourceURL === 'string' ? metadata.sourceURL : null;
  // A NUL cannot be stored in PostgreSQL's text: dropped here, the payload keeps it as sent.
  return url === null ? null : url.replaceAll('\0', '').slice(0, MAX_URL_CHARS);
}
