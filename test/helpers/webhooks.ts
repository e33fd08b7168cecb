import { readFileSync, readdirSync } from 'node:fs';
import { sign } from '../../src/ingress/verify.js';
import { SECRET } from './relay.js';
import type { FirecrawlPayload, RelayEvent } from '../../src/plugin-api/types.js';

const SAMPLES = new URL('../../samples/', import.meta.url);

export function sampleTypes(): string[] {
  return readdirSync(SAMPLES).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

export function sampleEvent(type: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...(JSON.parse(readFileSync(new URL(`${type}.json`, SAMPLES), 'utf8')) as Record<string, unknown>), ...overrides };
}

/** inject() options for a webhook signed with `secret`. */
export function signedRequest(body: string | Buffer | object, secret = SECRET, url = '/webhooks/firecrawl') {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return {
    method: 'POST' as const,
    url,
    headers: { 'content-type': 'application/json', 'x-firecrawl-signature': sign(secret, payload) },
    payload,
  };
}

/** POSTs a signed body to a running relay; the status, or 0 when the connection failed. */
export async function postSigned(url: string, body: string, secret = SECRET): Promise<number> {
  try {
    const response = await fetch(`${url}/webhooks/firecrawl`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-firecrawl-signature': sign(secret, body) },
      body,
    });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

/** A RelayEvent as a sink receives it, built from a payload (or raw body) without a relay. */
export function relayEvent(body: Record<string, unknown> | string, deliveryId = '1'): RelayEvent {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const payload = JSON.parse(raw) as FirecrawlPayload;
  return {
    deliveryId,
    eventId: deliveryId,
    source: 'firecrawl',
    receivedAt: new Date('2026-01-02T03:04:05.000Z'),
    attempt: 1,
    type: payload.type,
    jobId: payload.id,
    success: payload.success,
    payload,
    raw: Buffer.from(raw),
  };
}
