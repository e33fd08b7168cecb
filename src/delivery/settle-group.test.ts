import { describe, expect, it } from 'vitest';
import type { LaneSettlement } from '../queue/store.js';
import { SettleGroup } from './settle-group.js';

const settlement = (jobId: string): LaneSettlement => ({ lane: { sink: 's', jobId, deliveries: [], token: jobId }, delivered: [1], hold: true });

describe('SettleGroup', () => {
  it('records the settles asked for in one turn in one call, and later ones in the next', async () => {
    const calls: string[][] = [];
    const group = new SettleGroup(async (settlements) => void calls.push(settlements.map((s) => s.lane.jobId)));
    await Promise.all([group.add(settlement('A')), group.add(settlement('B'))]);
    await group.add(settlement('C'));
    expect(calls).toEqual([['A', 'B'], ['C']]);
  });

  it('fails every settle of a call that failed: none of them was recorded', async () => {
    const group = new SettleGroup(async () => {
      throw new Error('disk I/O error');
    });
    const outcomes = await Promise.allSettled([group.add(settlement('A')), group.add(settlement('B'))]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
  });
});
