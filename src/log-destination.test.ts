import { afterEach, describe, expect, it, vi } from 'vitest';
import { LogDestination } from './log-destination.js';

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(code), { code });
}

/** A destination whose behaviour the test sets per write: accept all, some bytes, or fail. */
function scripted(): { out: string[]; next: Array<'all' | number | string>; write: (fd: number, data: Buffer) => number } {
  const out: string[] = [];
  const next: Array<'all' | number | string> = [];
  return {
    out,
    next,
    write(_fd, data) {
      const step = next.length > 0 ? next.shift()! : 'all';
      if (typeof step === 'string' && step !== 'all') throw errno(step);
      const n = step === 'all' ? data.length : step;
      out.push(data.subarray(0, n).toString());
      return n;
    },
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('log destination', () => {
  it('drops and counts the lines a failing destination refuses (EPIPE, ENOSPC) without throwing, then writes again', () => {
    const dest = scripted();
    const destination = new LogDestination({ fd: 99, write: dest.write });
    dest.next.push('EPIPE', 'ENOSPC');
    expect(() => destination.write('a\n')).not.toThrow();
    expect(() => destination.write('b\n')).not.toThrow();
    destination.write('c\n');
    expect(dest.out).toEqual(['c\n']);
    expect(destination.droppedLines).toBe(2);
    expect(destination.pendingLines).toBe(0);
  });

  it('holds lines while the destination is full (EAGAIN) and writes them in order once it has room', async () => {
    vi.useFakeTimers();
    const dest = scripted();
    const destination = new LogDestination({ fd: 99, retryMs: 20, write: dest.write });
    dest.next.push('EAGAIN');
    destination.write('one\n');
    destination.write('two\n'); // not tried: 'one' goes first
    expect(dest.out).toEqual([]);
    expect(destination.pendingLines).toBe(2);
    let drained = false;
    void destination.drained().then(() => (drained = true));
    dest.next.push('EAGAIN');
    await vi.advanceTimersByTimeAsync(20);
    expect(dest.out).toEqual([]);
    await vi.advanceTimersByTimeAsync(20);
    expect(dest.out).toEqual(['one\n', 'two\n']);
    expect(drained).toBe(true);
    expect(destination.droppedLines).toBe(0);
  });

  it('finishes a half-written line before the next one', async () => {
    vi.useFakeTimers();
    const dest = scripted();
    const destination = new LogDestination({ fd: 99, retryMs: 20, write: dest.write });
    dest.next.push(3, 'EAGAIN');
    destination.write('first\n');
    destination.write('second\n');
    await vi.advanceTimersByTimeAsync(20);
    expect(dest.out.join('')).toBe('first\nsecond\n');
    expect(destination.droppedLines).toBe(0);
  });

  it('drops new lines past max_pending_bytes instead of growing while the destination stays full', () => {
    const destination = new LogDestination({ fd: 99, maxPendingBytes: 10, write: () => { throw errno('EAGAIN'); } });
    destination.write('12345\n');
    destination.write('12345\n');
    destination.write('12345\n');
    expect(destination.pendingLines).toBe(1);
    expect(destination.droppedLines).toBe(2);
    destination.abandonPending();
    expect(destination.pendingLines).toBe(0);
    expect(destination.droppedLines).toBe(3);
  });
});
