import { describe, expect, it } from 'vitest';
import { RelayError } from '../errors.js';
import { assertSafeJson, MAX_JSON_DEPTH } from './json-depth.js';

/** `levels` arrays inside each other, built as text and parsed as the ingress does. */
const nested = (levels: number, inner = ''): unknown => JSON.parse(`${'['.repeat(levels)}${inner}${']'.repeat(levels)}`);

function codeOf(value: unknown): string | undefined {
  try {
    assertSafeJson(value);
    return undefined;
  } catch (err) {
    return err instanceof RelayError ? err.code : String(err);
  }
}

describe('assertSafeJson: depth', () => {
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

describe('assertSafeJson: keys that could pollute prototypes', () => {
  it.each([
    { name: 'a __proto__ key holding a scalar', text: '{"a":[{"__proto__":1}]}', code: 'RELAY_ERR_INGRESS_BODY_UNSAFE_KEY' },
    { name: 'an escaped __proto__ key', text: '{"metadata":{"\\u005f_proto__":{"x":1}}}', code: 'RELAY_ERR_INGRESS_BODY_UNSAFE_KEY' },
    { name: 'a constructor.prototype key', text: '{"data":[{"constructor":{"prototype":{}}}]}', code: 'RELAY_ERR_INGRESS_BODY_UNSAFE_KEY' },
    { name: 'a constructor without a prototype', text: '{"data":[{"constructor":{"name":"x"}},{"constructor":"text"}]}', code: undefined },
    { name: 'a prototype key alone', text: '{"prototype":{"x":1},"proto":1}', code: undefined },
    { name: 'a __proto__ string value', text: '{"key":"__proto__","list":["constructor"]}', code: undefined },
    // The depth is what is reported when a body is both: as when the two were separate walks.
    { name: 'a __proto__ key before a body too deep', text: `[{"__proto__":1},${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}]`, code: 'RELAY_ERR_INGRESS_BODY_TOO_DEEP' },
  ])('$name: $code', ({ text, code }) => {
    expect(codeOf(JSON.parse(text))).toBe(code);
  });
});
