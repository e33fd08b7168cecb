import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VALIDATORS_FILE, validatorsSource } from './validators-source.js';

describe('validators.generated.ts', () => {
  it('is what the config schema and the built-in sinks’ option schemas generate today (else: npm run generate:validators)', async () => {
    expect(readFileSync(VALIDATORS_FILE, 'utf8')).toBe(await validatorsSource());
  });
});
