import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePathSegment, encodePathSegment, MAX_SEGMENT_BYTES } from './path-segment.js';

const SAFE = /^[A-Za-z0-9_%~-][A-Za-z0-9_.%~-]*$/;

describe('path segments built from payload values', () => {
  it.each([
    ['550e8400-e29b-41d4-a716-446655440001', '550e8400-e29b-41d4-a716-446655440001'],
    ['crawl', 'crawl'],
    ['.', '%2E'],
    ['..', '%2E.'],
    ['.hidden', '%2Ehidden'],
    ['a.b', 'a.b'],
    ['../../../other-tenant', '%2E.%2F..%2F..%2Fother-tenant'],
    ['a\u0000b', 'a%00b'],
    ['j-uni-é😀', 'j-uni-%C3%A9%F0%9F%98%80'],
    ['50%', '50%25'],
    ['a b', 'a%20b'],
    ['', '%'],
  ])('encodes %j as %j', (value, segment) => {
    expect(encodePathSegment(value)).toBe(segment);
    expect(decodePathSegment(segment)).toBe(value);
  });

  it('gives distinct values distinct segments (ids that differ only in non-ASCII letters too)', () => {
    const ids = ['j\ud800', 'j\ud801', 'j-uni-é😀', 'j-uni-ü😀', 'j-uni-_', 'j-uni-__', 'j-uni-%C3%A9%F0%9F%98%80', '.', '..', '_', '%2E'];
    expect(new Set(ids.map(encodePathSegment)).size).toBe(ids.length);
  });

  it('is reversible and safe for any string that fits, and never a hidden or relative segment', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (value) => {
        const segment = encodePathSegment(value);
        expect(segment).toMatch(SAFE);
        expect(segment.startsWith('.')).toBe(false);
        if (segment.length <= MAX_SEGMENT_BYTES && !segment.includes('~')) expect(decodePathSegment(segment)).toBe(value);
      }),
      { numRuns: 500 },
    );
  });

  // The hash is of the value's UTF-8, so a user can recompute it: printf %s "$id" | sha256sum | cut -c1-32
  it('ends a long name in the SHA-256 of the value\'s UTF-8', () => {
    expect(encodePathSegment('é'.repeat(100)).slice(-33)).toBe('~f42ec48e1e4b487e590e0b3d4e58437c');
    expect(encodePathSegment('x'.repeat(5000))).toBe(`${'x'.repeat(167)}~c59d3c0480cc2d71d8f646e735e92da6`);
  });

  it('hashes a value too long for a file name, keeping values apart', () => {
    const long = (tail: string) => `${'é'.repeat(150)}${tail}`;
    const a = encodePathSegment(long('a'));
    const b = encodePathSegment(long('b'));
    expect(a).not.toBe(b);
    for (const segment of [a, b, encodePathSegment('x'.repeat(5000))]) {
      expect(Buffer.byteLength(segment)).toBeLessThanOrEqual(MAX_SEGMENT_BYTES);
      expect(segment).toMatch(/^[A-Za-z0-9_.%-]*~[0-9a-f]{32}$/);
      expect(segment).not.toMatch(/%[0-9A-F]?~/);
      expect(decodePathSegment(segment)).toBeUndefined();
    }
  });
});
