import { describe, expect, it } from 'vitest';
import { describeContractState, until } from './wait.js';

// Issue 17 follow-up, item 2: a kit failure said only "condition not met within 10000 ms".
describe('a contract failure says what happened', () => {
  it('names the case, what it waited for, the next event missing, what arrived and the queue', async () => {
    const what = () =>
      describeContractState({
        target: 'my_sink',
        test: 'delivers every event once, each job in order',
        waitedFor: 'every event to leave the queue',
        sent: ['a:failure 0', 'b:failure 1', 'a:failure 2'],
        received: ['a:failure 0', 'b:failure 1'],
        queue: { pending: 1, deadLetters: 0 },
      });
    await expect(until(() => false, what, 30)).rejects.toThrow(
      [
        'waited 30 ms: sink contract "my_sink", case "delivers every event once, each job in order": waited for every event to leave the queue',
        '  expected next: a:failure 2',
        '  arrived (2): ["a:failure 0","b:failure 1"]',
        '  queue: 1 pending, 0 dead letters',
      ].join('\n'),
    );
  });

  it('says when everything sent arrived and the relay is closed', () => {
    const text = describeContractState({ target: 't', test: 'c', waitedFor: 'x', sent: ['a:1'], received: ['a:1'], queue: undefined });
    expect(text).toContain('expected next: (nothing: every event sent arrived)');
    expect(text).toContain('queue: relay closed');
  });
});
