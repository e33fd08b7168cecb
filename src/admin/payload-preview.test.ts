import { describe, expect, it } from 'vitest';
import { textPrefix } from './payload-preview.js';

describe('textPrefix', () => {
  it('keeps a body within the limit whole', () => {
    expect(textPrefix(Buffer.from('{"a":1}'), 100)).toBe('{"a":1}');
  });

  it('cuts before a character the limit would split, never leaving a replacement character', () => {
    // "é" is two bytes (c3 a9): a limit of 2 falls between them.
    expect(textPrefix(Buffer.from('aéb'), 2)).toBe('a');
    expect(textPrefix(Buffer.from('aéb'), 3)).toBe('aé');
    // "😀" is four bytes: every cut inside it drops it whole.
    for (const limit of [2, 3, 4]) expect(textPrefix(Buffer.from('a😀b'), limit)).toBe('a');
  });
});
