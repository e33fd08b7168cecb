import { describe, expect, it } from 'vitest';
import { testConfig } from '../../test/helpers/relay.js';
import { describeConfig } from './check.js';

const config = (source: string) =>
  testConfig(`
sources:
  selfhosted:
    path: /hooks/selfhosted
${source}
sinks: { out: { type: stdout } }
routes: [{ name: all, to: [out] }]
`);

describe('check', () => {
  it.each([
    { auth: 'auth: { header: X-Relay-Token, query: token, tokens: [tok-secret-1, tok-secret-2] }', says: 'auth: token in x-relay-token header or ?token= (2)  dedupe: webhook_id' },
    { auth: 'auth: { query: token, tokens: [tok-secret-1] }\n    dedupe: body', says: 'auth: token in ?token= (1)  dedupe: body' },
  ])('says where the token is read and how the source dedupes: $says', ({ auth, says }) => {
    const text = describeConfig(config(`    ${auth}`));
    expect(text).toContain(`selfhosted  POST /hooks/selfhosted  ${says}`);
    expect(text).not.toContain('tok-secret');
  });
});
