import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ABORT_IGNORED_AFTER_MS, timedWrite } from './timed-write.js';

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

// Issue 17 follow-up, item 7: a write that ignores its signal and never settles was named
// only by the "marked down" line of its timeout, rate-limited with every other failure.
describe('timedWrite and a write that ignores its abort', () => {
  it('says so, with its code, once the write is still running after its abort', async () => {
    const heard: string[] = [];
    let release = (): void => {};
    const write = timedWrite('s', 100, new AbortController().signal, () => new Promise<void>((resolve) => (release = resolve)), (t) => heard.push(`overrun ${t.code}`), (i) => heard.push(`ignored ${i.code} ${i.message}`));
    await vi.advanceTimersByTimeAsync(100);
    expect(heard).toEqual(['overrun RELAY_ERR_SINK_TIMEOUT']);
    await vi.advanceTimersByTimeAsync(ABORT_IGNORED_AFTER_MS);
    expect(heard).toEqual(['overrun RELAY_ERR_SINK_TIMEOUT', expect.stringMatching(/^ignored RELAY_ERR_SINK_ABORT_IGNORED sink "s" ignored the abort of a write past write_timeout_ms \(100 ms\): still running 1000 ms later.*pass `signal`/)]);
    release();
    expect(await write).toEqual({ ok: true, value: undefined });
    await vi.advanceTimersByTimeAsync(10 * ABORT_IGNORED_AFTER_MS);
    expect(heard).toHaveLength(2);
  });

  it('says nothing of a write that stops on its abort', async () => {
    const heard: string[] = [];
    const write = timedWrite(
      's',
      100,
      new AbortController().signal,
      (signal) => new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error))),
      (t) => heard.push(`overrun ${t.code}`),
      (i) => heard.push(`ignored ${i.code}`),
    );
    await vi.advanceTimersByTimeAsync(100 + 10 * ABORT_IGNORED_AFTER_MS);
    expect((await write).ok).toBe(false);
    expect(heard).toEqual(['overrun RELAY_ERR_SINK_TIMEOUT']);
  });
});

// Issue 17 (trial), item 4: while a plugin busy-looped, an innocent sink's timeout fired
// late, and that sink was marked down and said to ignore its abort.
describe('timedWrite and a blocked event loop', () => {
  it('gives back the time the loop was blocked: a write whose I/O ended meanwhile is no timeout', async () => {
    const heard: string[] = [];
    let finishIo = (): void => {};
    const write = timedWrite('archive', 1000, new AbortController().signal, () => new Promise<void>((resolve) => (finishIo = resolve)), () => heard.push('overrun'), () => heard.push('ignored'));
    await vi.advanceTimersByTimeAsync(100);
    // Another plugin holds the loop for 5 s: the clock moves, no timer runs meanwhile.
    vi.setSystemTime(Date.now() + 5000);
    await vi.advanceTimersByTimeAsync(900);
    finishIo();
    expect(await write).toEqual({ ok: true, value: undefined });
    expect(heard).toEqual([]);
  });

  it('still times out a write that had its full time with the loop running', async () => {
    const heard: string[] = [];
    const write = timedWrite('s', 1000, new AbortController().signal, (signal) => new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error))), () => heard.push('overrun'));
    vi.setSystemTime(Date.now() + 5000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(heard).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(heard).toEqual(['overrun']);
    expect((await write).ok).toBe(false);
  });

  it('names the sink whose own synchronous work held the loop', async () => {
    const blocked: number[] = [];
    const busy = (): Promise<void> => {
      vi.setSystemTime(Date.now() + 5000); // as a busy loop of 5 s would
      return Promise.resolve();
    };
    const write = timedWrite('blk', 1000, new AbortController().signal, busy, undefined, undefined, (ms) => blocked.push(ms));
    await vi.advanceTimersByTimeAsync(0);
    expect(await write).toEqual({ ok: true, value: undefined });
    expect(blocked).toEqual([5000]);
  });
});
