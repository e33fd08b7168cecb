import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FailedLogins } from './failed-logins.js';

describe('FailedLogins', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('reports a peer’s first refusal at once, then at most one line a minute with the count since', () => {
    const lines: Array<[string, number]> = [];
    const failed = new FailedLogins((peer, count) => lines.push([peer, count]));
    failed.record('10.0.0.1');
    for (let i = 0; i < 99; i++) failed.record('10.0.0.1');
    failed.record('10.0.0.2');
    expect(lines).toEqual([
      ['10.0.0.1', 1],
      ['10.0.0.2', 1],
    ]);
    vi.advanceTimersByTime(59_999);
    expect(lines).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(lines.slice(2)).toEqual([['10.0.0.1', 99]]);
    failed.record('10.0.0.1');
    vi.advanceTimersByTime(60_000);
    expect(lines.slice(3)).toEqual([['10.0.0.1', 1]]);
    // A quiet minute forgets the peer: its next refusal is reported at once again.
    vi.advanceTimersByTime(60_000);
    expect(lines).toHaveLength(4);
    failed.record('10.0.0.1');
    expect(lines.slice(4)).toEqual([['10.0.0.1', 1]]);
    failed.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});
