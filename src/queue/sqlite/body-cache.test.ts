import { expect, it } from 'vitest';
import { BodyCache } from './body-cache.js';

const body = (bytes: number): Buffer => Buffer.from(new ArrayBuffer(bytes));

it('keeps the newest bodies within its bound and forgets deleted ones', () => {
  const cache = new BodyCache(3000);
  for (const id of [1, 2, 3]) cache.add(id, body(1000));
  cache.add(4, body(1000));
  expect([1, 2, 3, 4].map((id) => cache.get(id) !== undefined)).toEqual([false, true, true, true]);
  cache.delete(2);
  cache.add(5, body(1000));
  expect([3, 4, 5].map((id) => cache.get(id) !== undefined)).toEqual([true, true, true]);
  cache.add(6, body(4000));
  expect(cache.get(6)).toBeUndefined();
});

it('counts what a pooled slice keeps alive, not only its length', () => {
  const cache = new BodyCache(10_000);
  const slab = new ArrayBuffer(8192);
  cache.add(1, Buffer.from(slab, 0, 100));
  cache.add(2, Buffer.from(slab, 100, 100));
  expect(cache.get(1)).toBeUndefined();
  expect(cache.get(2)).toBeDefined();
});
