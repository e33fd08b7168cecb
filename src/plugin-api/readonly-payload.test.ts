import { describe, expect, it } from 'vitest';
import type { RelayEvent } from './index.js';

// Issue 17 (trial), item 7: the payload is frozen at run time, but its type let a plugin
// write to it (and then fail at run time only). `npm run typecheck` checks these lines:
// each @ts-expect-error fails the typecheck if the write compiles.
function writes(event: RelayEvent): void {
  // @ts-expect-error the payload is read-only
  event.payload.id = 'changed';
  // @ts-expect-error nested objects too
  event.payload.metadata.x = 1;
  // @ts-expect-error and arrays
  (event.payload.data as readonly unknown[]).push(1);
}

describe('RelayEvent.payload', () => {
  it('is typed read-only however deep (checked by the typecheck)', () => {
    expect(typeof writes).toBe('function');
  });
});
