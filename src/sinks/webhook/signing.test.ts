import { describe, expect, it } from 'vitest';
import type { RelayEvent } from '../../plugin-api/index.js';
import { deliveryIdOf } from './signing.js';

const event = (payload: Record<string, unknown>): RelayEvent =>
  ({ source: 'firecrawl', payload, raw: Buffer.from(JSON.stringify(payload)) }) as unknown as RelayEvent;

describe('deliveryIdOf', () => {
  it('is the same for two bodies with one webhookId, and differs between webhookIds', () => {
    const a = deliveryIdOf('out', event({ id: 'a', webhookId: 'w-1' }));
    expect(deliveryIdOf('out', event({ id: 'b', webhookId: 'w-1' }))).toBe(a);
    expect(deliveryIdOf('out', event({ id: 'a', webhookId: 'w-2' }))).not.toBe(a);
  });

  // The envelope accepts any JSON in webhookId: only a non-empty string names a delivery.
  it.each([[''], [null], [42], [{}]])('tells events apart by their bytes when webhookId is %j', (webhookId) => {
    const a = deliveryIdOf('out', event({ id: 'a', webhookId }));
    expect(deliveryIdOf('out', event({ id: 'b', webhookId }))).not.toBe(a);
  });
});
