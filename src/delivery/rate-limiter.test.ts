import { describe, expect, it } from 'vitest';
import { RateLimiter } from './rate-limiter.js';

describe('rate limiter (token bucket)', () => {
  it('lets a burst through at once, then one event per 1/per_second', () => {
    const clock = { now: 0 };
    const limiter = new RateLimiter(1, 3, () => clock.now);
    expect([limiter.take(), limiter.take(), limiter.take()]).toEqual([0, 0, 0]);
    expect(limiter.take()).toBe(1000);
    expect(limiter.take()).toBe(2000);
    clock.now = 2000;
    expect(limiter.available()).toBe(0);
    clock.now = 10_000;
    // Refills up to the burst, never past it.
    expect(limiter.available()).toBe(3);
  });

  it('takes a batch\'s worth at once and says how long the batch must wait', () => {
    const limiter = new RateLimiter(100, 10, () => 0);
    expect(limiter.take(10)).toBe(0);
    expect(limiter.take(5)).toBe(50);
  });

  it('takes back tokens a write did not use, up to the burst', () => {
    const limiter = new RateLimiter(1, 2, () => 0);
    expect(limiter.take(2)).toBe(0);
    expect(limiter.take()).toBe(1000);
    limiter.giveBack();
    expect(limiter.take()).toBe(1000);
    limiter.giveBack(5);
    expect(limiter.available()).toBe(2);
  });
});
