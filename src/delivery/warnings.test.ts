import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { capturedLogger } from '../../test/helpers/logs.js';
import { PermanentError, RetryableError } from '../plugin-api/errors.js';
import { ERROR_LOG_INTERVAL_MS, FailureLog, failureKey } from './warnings.js';

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

function failureLog() {
  const logs = capturedLogger();
  return { log: new FailureLog(logs.logger, Date.now), lines: () => logs.warnings().map(({ msg, err, retried, suppressed }) => ({ msg, err, retried, suppressed })) };
}

describe('FailureLog', () => {
  it('logs the counts it held back at the end of the window, though no further failure comes', () => {
    const { log, lines } = failureLog();
    for (const n of [1, 2, 3]) log.warn({ err: `job ${n} refused`, code: 'X' }, 'delivery failed', { retried: 1 });
    expect(lines()).toEqual([{ msg: 'delivery failed', err: 'job 1 refused', retried: 1, suppressed: 0 }]);
    vi.advanceTimersByTime(ERROR_LOG_INTERVAL_MS);
    expect(lines()[1]).toEqual({ msg: 'delivery failed', err: 'job 3 refused', retried: 2, suppressed: 2 });
    // Nothing more held: the timer does not fire again.
    vi.advanceTimersByTime(ERROR_LOG_INTERVAL_MS * 3);
    expect(lines()).toHaveLength(2);
  });

  it('logs what it holds at once on flush (shutdown), and nothing when it holds nothing', () => {
    const { log, lines } = failureLog();
    log.flush();
    log.warn({ err: 'a', code: 'X' }, 'delivery failed', { retried: 1 });
    log.warn({ err: 'b', code: 'X' }, 'delivery failed', { retried: 4 });
    log.flush();
    expect(lines()).toEqual([
      { msg: 'delivery failed', err: 'a', retried: 1, suppressed: 0 },
      { msg: 'delivery failed', err: 'b', retried: 4, suppressed: 1 },
    ]);
    vi.advanceTimersByTime(ERROR_LOG_INTERVAL_MS);
    expect(lines()).toHaveLength(2);
  });

  it('rate-limits on the key, not the text: messages with ids in them are one kind of failure', () => {
    const { log, lines } = failureLog();
    for (let n = 0; n < 50; n++) {
      const err = new RetryableError(`upload of scrape ${n} refused`, { statusCode: 503 });
      log.warn({ err: err.message }, 'delivery failed', { retried: 1 }, failureKey(err));
    }
    expect(lines()).toHaveLength(1);
    vi.advanceTimersByTime(ERROR_LOG_INTERVAL_MS);
    expect(lines()[1]).toMatchObject({ retried: 49, suppressed: 49 });
  });

  it('logs another kind of failure at once, after the held counts of the first kind', () => {
    const { log, lines } = failureLog();
    log.warn({ err: 'a1' }, 'delivery failed', { retried: 1 }, 'A');
    log.warn({ err: 'a2' }, 'delivery failed', { retried: 1 }, 'A');
    log.warn({ err: 'b1' }, 'delivery failed', { retried: 1 }, 'B');
    expect(lines().map((l) => [l.err, l.retried, l.suppressed])).toEqual([['a1', 1, 0], ['a2', 1, 1], ['b1', 1, 0]]);
  });
});

describe('failureKey', () => {
  it('is the code when there is one, else the class and the status', () => {
    expect(failureKey(Object.assign(new Error('x 1'), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED');
    expect(failureKey(new RetryableError('x 2', { statusCode: 503 }))).toBe('RetryableError:503');
    expect(failureKey(new PermanentError('x 3'))).toBe('PermanentError');
    expect(failureKey('text')).toBe('string');
  });
});
