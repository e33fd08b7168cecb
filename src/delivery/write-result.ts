import { inspect } from 'node:util';
import { RelayError } from '../errors.js';

/**
 * Reads what a batch sink's `write()` resolved: the failed events by batch index. Anything
 * but nothing or `{ failed: [{ index, error }] }` with indexes inside the batch throws: a
 * result the relay cannot read says nothing of what was written, so the whole write failed.
 */
export function failedIndexes(sink: string, value: unknown, size: number): Map<number, unknown> {
  const failed = new Map<number, unknown>();
  if (value === undefined || value === null) return failed;
  const list = (value as { failed?: unknown }).failed;
  const valid =
    typeof value === 'object' &&
    Array.isArray(list) &&
    list.every((f: unknown) => {
      const index = (f as { index?: unknown } | null)?.index;
      return typeof index === 'number' && Number.isInteger(index) && index >= 0 && index < size;
    });
  if (!valid) throw new RelayError('RELAY_ERR_SINK_RESULT_INVALID', [sink, size - 1, inspect(value, { depth: 2, breakLength: Infinity }).slice(0, 200)]);
  for (const f of list as ReadonlyArray<{ index: number; error?: unknown }>) {
    // A failure without an error is still a failure: say so rather than log nothing.
    const error = 'error' in f && f.error !== undefined ? f.error : new Error(`write() listed the event at index ${f.index} in \`failed\` without an \`error\``);
    if (!failed.has(f.index)) failed.set(f.index, error);
  }
  return failed;
}
