import { describe, expect, it } from 'vitest';
import { ALONE_BYTES, DeadlinePassed, SHARED_GROUP_BYTES, deadlineGroups } from './deadline.js';

describe('deadlineGroups', () => {
  const groups = (sizes: number[]): number[][] => deadlineGroups(sizes, (bytes) => bytes);

  it('keeps a tick of small webhooks in one transaction', () => {
    expect(groups([10, 20, 30])).toEqual([[10, 20, 30]]);
  });

  it('commits each large body alone, after the small ones of its tick', () => {
    const large = ALONE_BYTES + 1;
    expect(groups([large, 10, large + 1, 20])).toEqual([[10, 20], [large], [large + 1]]);
  });

  it('cuts small ones into groups of at most SHARED_GROUP_BYTES, in arrival order', () => {
    const size = ALONE_BYTES;
    const count = SHARED_GROUP_BYTES / size + 1;
    const cut = groups(Array.from({ length: count }, () => size));
    expect(cut.map((g) => g.length)).toEqual([count - 1, 1]);
  });
});

describe('DeadlinePassed', () => {
  it('says the time in whole milliseconds, and never a negative one', () => {
    expect(new DeadlinePassed('the commit to PostgreSQL', 4321.57).message).toBe('the commit to PostgreSQL did not finish within 4322 ms');
    expect(new DeadlinePassed('the commit to PostgreSQL (queued behind a stuck one)', -33156.43).message).toBe(
      'the commit to PostgreSQL (queued behind a stuck one) was past its deadline before it started',
    );
  });
});
