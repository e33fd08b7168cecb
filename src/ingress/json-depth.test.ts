import { describe, expect, it } from 'vitest';
import { RelayError } from '../errors.js';
import { assertJsonDepth, MAX_JSON_DEPTH } from './json-depth.js';

/** `levels` arrays inside each other, built as text and parsed as the ingress does. */
const nested = (levels: number, inner = ''): unknown => JSON.parse(`${'['.repeat(levels)}${inner}${']'.repeat(levels)}`);

function codeOf(value: unknown): string | undefined {
  try {
    assertJsonDepth(value);
    return undefined;
  } catch (err) {
    return err instanceof RelayError ? err.code : String(err);
  }
}

describe('assertJsonDepth', () => {
  it.each([
    { name: 'a scalar', value: 'text', code: undefined },
    { name: '64 levels of arrays', value: nested(MAX_JSON_DEPTH, '1'), code: undefined },
    { name: '65 levels of arrays', value: nested(MAX_JSON_DEPTH + 1), code: 'RELAY_ERR_INGRESS_BODY_TOO_DEEP' },
    { name: '65 levels through objects and arrays', value: JSON.parse(`${'{"a":['.repeat(32)}{}${']}'.repeat(32)}`), code: 'RELAY_ERR_INGRESS_BODY_TOO_DEEP' },
    { name: '64 levels through objects and arrays', value: JSON.parse(`${'{"a":['.repeat(32)}1${']}'.repeat(32)}`), code: undefined },
    { name: 'a deep value after many shallow ones', value: [...Array.from({ length: 1000 }, () => ({ a: [1] })), nested(MAX_JSON_DEPTH)], code: 'RELAY_ERR_INGRESS_BODY_TOO_DEEP' },
    // Deep enough to overflow a recursive walk (and JSON.stringify): the check must not.
    { name: '200,000 levels', value: nested(200_000), code: 'RELAY_ERR_INGRESS_BODY_TOO_DEEP' },
  ])('$name: $code', ({ value, code }) => {
    expect(codeOf(value)).toBe(code);
  });
});
