import { createHash, createHmac } from 'node:crypto';
import { webhookIdOf, type RelayEvent } from '../../plugin-api/index.js';

export type SignatureScheme = 'firecrawl' | 'standard' | 'none';

/** Firecrawl's own scheme: `sha256=<hex HMAC-SHA256 of the exact bytes sent>`. */
export function firecrawlSignature(secret: string, body: Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The key of a Standard Webhooks secret: the base64 after `whsec_`. */
export function standardKey(secret: string): Buffer | null {
  if (!secret.startsWith('whsec_')) return null;
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return key.length >= 16 ? key : null;
}

/**
 * Standard Webhooks (standardwebhooks.com): `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`,
 * one per secret, space-separated, so receivers on the old or new secret both verify.
 */
export function standardSignatures(keys: readonly Buffer[], id: string, timestamp: number, body: Buffer): string {
  return keys
    .map((key) => `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64')}`)
    .join(' ');
}

/**
 * A delivery id that stays the same across retries and replays of one event to one
 * sink, and differs between events: receivers dedupe on it.
 */
export function deliveryIdOf(sink: string, event: RelayEvent): string {
  const webhookId = webhookIdOf(event.payload);
  const identity = webhookId !== undefined ? `webhook:${webhookId}` : createHash('sha256').update(event.raw).digest('hex');
  return `msg_${createHash('sha256').update(`${sink}\0${event.source}\0${identity}`).digest('hex').slice(0, 32)}`;
}
