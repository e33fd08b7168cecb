import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { capturedLogger } from '../test/helpers/logs.js';
import { STALL_CHECK_MS, watchLoopStalls } from './loop-stall-watch.js';

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

// Issue 17 (trial), item 4: a plugin that blocked the loop for 5 s left no line saying so.
describe('watchLoopStalls', () => {
  it('logs a coded warning with how long the loop was blocked, and nothing while it runs', async () => {
    const logs = capturedLogger();
    const stop = watchLoopStalls(logs.logger);
    await vi.advanceTimersByTimeAsync(10 * STALL_CHECK_MS);
    expect(logs.warnings()).toEqual([]);
    vi.setSystemTime(Date.now() + 3000); // the loop held for 3 s: the clock moved, no timer ran
    await vi.advanceTimersByTimeAsync(STALL_CHECK_MS);
    stop();
    expect(logs.warnings().map((w) => [w.code, w.stalled_ms])).toEqual([['RELAY_ERR_SINK_LOOP_STALLED', 3000]]);
    expect(String(logs.warnings()[0]!.err)).toMatch(/blocked for 3000 ms.*a plugin doing synchronous work/);
  });
});
