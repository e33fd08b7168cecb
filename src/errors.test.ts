import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, RelayError } from './errors.js';

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const documented = [...doc.matchAll(/^\| `(RELAY_ERR_[A-Z0-9_]+)` \| (\d+|—) \|/gm)].map((m) => ({ code: m[1]!, status: m[2]! }));

describe('error catalogue', () => {
  it('docs/errors.md lists every code of src/errors.ts, with its status, and no other', () => {
    expect(documented.map((d) => d.code).sort()).toEqual(Object.keys(ERRORS).sort());
    for (const { code, status } of documented) {
      const declared = ERRORS[code as keyof typeof ERRORS].status;
      expect(status, code).toBe(declared === 0 ? '—' : String(declared));
    }
  });

  it('codes follow RELAY_ERR_<AREA>_<DETAIL>', () => {
    for (const code of Object.keys(ERRORS)) expect(code).toMatch(/^RELAY_ERR_(INGRESS|QUEUE|SHUTTING|SHUTDOWN|INTERNAL|ADMIN|CONFIG|PLUGIN|SINK|CLI)(_[A-Z0-9]+)*$/);
  });

  it('serialises to the HTTP error body', () => {
    const error = new RelayError('RELAY_ERR_INGRESS_MEDIA_TYPE', ['"text/plain"']);
    expect(error.toJSON()).toEqual({
      error: { code: 'RELAY_ERR_INGRESS_MEDIA_TYPE', message: 'expected Content-Type application/json, got "text/plain"' },
    });
    expect(error.statusCode).toBe(415);
  });
});
