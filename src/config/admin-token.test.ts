import { describe, expect, it } from 'vitest';
import { builtinSinks } from '../sinks/registry.js';
import { formatIssue } from './config-error.js';
import { parseConfig } from './load.js';

// Lines are numbered from the first line of the template string (line 1 is empty).
const withAdminToken = (token: string) => `
sources: { firecrawl: { path: /webhooks/firecrawl, secrets: [s] } }
sinks: { console: { type: stdout } }
routes: [{ name: all, to: [console] }]
admin:
  token: "${token}"
`;
const warningsFor = (token: string) => parseConfig(withAdminToken(token), 'relay.config.yaml', { registry: builtinSinks(), env: {} }).warnings;

describe('admin token checks', () => {
  it.each([
    { name: 'no token (the API is off)', token: '', warning: undefined },
    { name: 'a 32-character hex token', token: '9f86d081884c7d659a2feaa0c55ad015', warning: undefined },
    { name: 'a 24-character varied token', token: 'Tr0ub4dor-and-3-horses!x', warning: undefined },
    {
      name: 'a token under 24 characters',
      token: 'admin-token-for-tests',
      warning: /^relay.config.yaml:6:10 admin.token: expected a token of at least 24 characters, got 21: a weak admin token is easy to guess/,
    },
    {
      name: 'a long token of few different characters',
      token: 'changemechangemechangeme',
      warning: /^relay.config.yaml:6:10 admin.token: expected a token of at least 8 different characters, got 7: a weak admin token is easy to guess/,
    },
  ])('$name', ({ token, warning }) => {
    const warnings = warningsFor(token);
    expect(warnings.map(formatIssue)).toEqual(warning ? [expect.stringMatching(warning)] : []);
    // The token itself is never echoed.
    if (token) expect(JSON.stringify(warnings)).not.toContain(token);
  });
});
