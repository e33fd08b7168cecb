import { createHash } from 'node:crypto';

/**
 * How a value from a payload (a job id, a scrape id, any template value) becomes one
 * segment of a file path or an object key, the same way in every sink:
 *
 * - `A-Z a-z 0-9 _ -` and `.` stay as they are, except a leading `.` (no hidden files,
 *   no `.` or `..` segments);
 * - every other byte of the value's UTF-8 is written `%XX` (upper-case hex), `%` included,
 *   so distinct values give distinct segments and `decodePathSegment` gives the value back;
 * - a segment longer than MAX_SEGMENT_BYTES (file systems stop at 255 bytes) is cut and
 *   ends in `~` and the first 32 hex digits of the SHA-256 of the value's UTF-8 (as
 *   `printf %s "$id" | sha256sum` gives): still distinct, no longer reversible. A `~` is
 *   always encoded otherwise, so a hashed segment never equals an encoded one.
 *   A value holding a lone UTF-16 surrogate (it has no UTF-8) takes the hashed form too,
 *   the surrogate hashed as the three bytes UTF-8's scheme gives it (WTF-8), so
 *   `"j\ud800"` and `"j\ud801"` stay apart.
 */
export const MAX_SEGMENT_BYTES = 200;

const KEPT = /[A-Za-z0-9_.-]/;
const HASHED_SUFFIX_BYTES = 33;
const LONE_SURROGATE = /\p{Cs}/u;

/** UTF-8, with a lone surrogate as its three bytes (WTF-8) rather than U+FFFD. */
function wtf8(value: string): Buffer {
  if (!LONE_SURROGATE.test(value)) return Buffer.from(value, 'utf8');
  const parts: Buffer[] = [];
  for (const char of value) {
    const unit = char.charCodeAt(0);
    const lone = char.length === 1 && unit >= 0xd800 && unit <= 0xdfff;
    parts.push(lone ? Buffer.from([0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]) : Buffer.from(char, 'utf8'));
  }
  return Buffer.concat(parts);
}

function percent(char: string): string {
  let out = '';
  for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** The value as one safe, reversible path segment (hashed past MAX_SEGMENT_BYTES). */
export function encodePathSegment(value: string): string {
  let out = '';
  let first = true;
  for (const char of value) {
    out += KEPT.test(char) && !(first && char === '.') ? char : percent(char);
    first = false;
  }
  // An empty value has no other form: `%` alone is never the encoding of anything else.
  if (out === '') return '%';
  // A lone surrogate (JSON allows "\ud800") has no UTF-8: such a value is only hashed.
  if (out.length <= MAX_SEGMENT_BYTES && !LONE_SURROGATE.test(value)) return out;
  let head = out.slice(0, MAX_SEGMENT_BYTES - HASHED_SUFFIX_BYTES);
  // Never leave half an escape before the hash.
  head = head.replace(/%[0-9A-F]?$/, '');
  return `${head}~${createHash('sha256').update(wtf8(value)).digest('hex').slice(0, 32)}`;
}

/** The value an unhashed segment came from; undefined for a hashed one. */
export function decodePathSegment(segment: string): string | undefined {
  if (segment === '%') return '';
  if (segment.includes('~')) return undefined;
  return decodeURIComponent(segment);
}
