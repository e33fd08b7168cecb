import { describe, expect, it } from 'vitest';
import { rawLine, rawWithRelay } from './raw-json.js';

const RELAY = { delivery_id: '7', source: 'firecrawl' };

describe('received JSON forwarded with the relay fields', () => {
  it('keeps numbers a parse would change: 1e999 and integers beyond 2^53', () => {
    const raw = '{"success":true,"type":"crawl.page","id":"j","data":[{"n":1e999,"big":12345678901234567890123,"f":1.10}]}';
    const line = rawWithRelay(Buffer.from(raw), RELAY);
    expect(line).toBe(`${raw.slice(0, -1)},"_relay":{"delivery_id":"7","source":"firecrawl"}}`);
    expect(line).toContain('1e999');
    expect(line).toContain('12345678901234567890123');
    expect(JSON.parse(line)._relay).toEqual(RELAY);
  });

  it('puts a pretty-printed body on one line, still valid JSON with the same strings', () => {
    const raw = '{\r\n  "a": "x\\ny",\n  "b": [1,\n 2]\n}\n\n';
    const line = rawWithRelay(raw, RELAY);
    expect(line).not.toMatch(/[\r\n]/);
    expect(JSON.parse(line)).toEqual({ a: 'x\ny', b: [1, 2], _relay: RELAY });
  });

  it('adds to an empty object, and lets ours win over a _relay the sender sent', () => {
    expect(JSON.parse(rawWithRelay('{ }', RELAY))).toEqual({ _relay: RELAY });
    expect(JSON.parse(rawWithRelay('{"_relay":"forged"}', RELAY))._relay).toEqual(RELAY);
  });

  it('prints the received bytes on one line', () => {
    expect(rawLine('{"n":\n1e999}\n')).toBe('{"n": 1e999}');
  });
});
