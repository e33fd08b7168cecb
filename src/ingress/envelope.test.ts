import { describe, expect, it } from 'vitest';
import { withoutBom } from './envelope.js';

const bytes = (...values: number[]): Buffer => Buffer.from(values);

describe('withoutBom', () => {
  it.each([
    { name: 'an empty body', body: bytes(), left: bytes() },
    { name: 'two bytes of a BOM', body: bytes(0xef, 0xbb), left: bytes(0xef, 0xbb) },
    { name: 'a BOM alone', body: bytes(0xef, 0xbb, 0xbf), left: bytes() },
    { name: 'a BOM and a body', body: bytes(0xef, 0xbb, 0xbf, 0x7b, 0x7d), left: bytes(0x7b, 0x7d) },
    { name: 'two BOMs (one is taken off)', body: bytes(0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf), left: bytes(0xef, 0xbb, 0xbf) },
    { name: 'a body without one', body: bytes(0x7b, 0xbb, 0xbf, 0x7d), left: bytes(0x7b, 0xbb, 0xbf, 0x7d) },
  ])('$name', ({ body, left }) => {
    expect(withoutBom(body)).toEqual(left);
  });
});
