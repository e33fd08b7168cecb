import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { builtinSinks } from '../sinks/registry.js';
import { ConfigError, formatIssue, type ConfigIssue } from './config-error.js';
import { loadConfigFile, parseConfig } from './load.js';
import { tempDir } from '../../test/helpers/relay.js';

const registry = builtinSinks();

function load(yaml: string, env: Record<string, string> = {}) {
  return parseConfig(yaml, 'relay.config.yaml', { registry, env, dir: '/srv/relay' });
}

function issuesOf(yaml: string, env: Record<string, string> = {}): ConfigIssue[] {
  try {
    load(yaml, env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

// Lines are numbered from the first line of the template string (line 1 is empty).
const VALID = `
sources:
  firecrawl:
    path: /webhooks/firecrawl
    secrets: ["\${SECRET}"]
sinks:
  archive:
    type: file
    dir: ./out
  console:
    type: stdout
routes:
  - name: all
    match: { type: "*" }
    to: [archive]
  - name: lifecycle
    match: { events: [completed, failed] }
    to: [console]
`;

describe('a valid config', () => {
  it('fills defaults from the schema and resolves the queue folder against the config folder', () => {
    const config = load(VALID, { SECRET: 's' });
    expect(config.server).toEqual({
      host: '127.0.0.1',
      port: 8080,
      body_limit_bytes: 33_554_432,
      max_inflight_bytes: 268_435_456,
      max_inflight_bytes_per_peer: 67_108_864,
      headers_timeout_ms: 10_000,
      body_timeout_ms: 30_000,
      max_connections: 2048,
      max_connections_per_address: 256,
      shutdown_timeout_ms: 10_000,
    });
    expect(config.queue.dir).toBe('/srv/relay/data/queue');
    expect(config.queue.dedupe_window_seconds).toBe(86_400);
    expect(config.queue.store).toBe('sqlite');
    expect(config.sources[0]).toMatchObject({ name: 'firecrawl', path: '/webhooks/firecrawl', auth: { kind: 'signature', secrets: ['s'] } });
    const archive = config.sinks.find((s) => s.name === 'archive')!;
    expect(archive.options).toEqual({ dir: './out', jsonl: 'events.jsonl', markdown: true, max_pages_per_event: 10_000 });
    expect(archive.retry.max_attempts).toBe(12);
    expect(config.warnings).toEqual([]);
  });

  it('takes a PostgreSQL queue shared by replicas: store, url from the environment, schema', () => {
    const yaml = VALID.replace('sources:', 'queue:\n  store: postgres\n  url: ${DATABASE_URL}\n  schema: relay\nsources:');
    const config = load(yaml, { SECRET: 's', DATABASE_URL: 'postgres://relay:pw@db:5432/relay' });
    expect(config.queue).toMatchObject({ store: 'postgres', url: 'postgres://relay:pw@db:5432/relay', schema: 'relay' });
    // VALID's archive is a file sink: fine for one relay, split between machines for several.
    expect(config.warnings.map((w) => `${w.code} ${w.path}: ${w.message}`)).toEqual([
      expect.stringMatching(/^RELAY_ERR_CONFIG_INVALID sinks.archive.type: expected sinks that every replica shares with queue.store: postgres, got a file sink/),
    ]);
  });

  it('interpolates ${VAR:-default} and gives unquoted whole references their YAML type', () => {
    const yaml = VALID.replace('sources:', 'server:\n  port: ${PORT:-9090}\n  host: "${HOST:-0.0.0.0}"\nsources:');
    expect(load(yaml, { SECRET: 's' }).server).toMatchObject({ port: 9090, host: '0.0.0.0' });
    expect(load(yaml, { SECRET: 's', PORT: '7000' }).server.port).toBe(7000);
  });

  it('keeps a literal ${ written as $${', () => {
    const yaml = VALID.replace('dir: ./out', () => 'dir: "./out/$${not_a_var}"');
    const archive = load(yaml, { SECRET: 's' }).sinks.find((s) => s.name === 'archive')!;
    expect(archive.options.dir).toBe('./out/${not_a_var}');
  });

  it('drops a rotation slot left empty by ${VAR:-}', () => {
    const yaml = VALID.replace('secrets: ["${SECRET}"]', 'secrets: ["${SECRET}", "${OLD_SECRET:-}"]');
    expect(load(yaml, { SECRET: 's' }).sources[0]!.auth).toEqual({ kind: 'signature', secrets: ['s'] });
  });

  it('switches a sink on with ${VAR:+true} and leaves it out of routes when off', () => {
    const yaml = VALID.replace('type: stdout', 'type: stdout\n    enabled: ${CONSOLE_ON:+true}');
    const off = load(yaml, { SECRET: 's' });
    expect(off.disabledSinks).toEqual(['console']);
    expect(off.sinks.map((s) => s.name)).toEqual(['archive']);
    const completed = { success: true, type: 'crawl.completed', id: 'j', data: [], metadata: {} };
    expect(off.router.match(completed, 'firecrawl').sinks).toEqual(['archive']);
    const on = load(yaml, { SECRET: 's', CONSOLE_ON: '1' });
    expect(on.disabledSinks).toEqual([]);
    expect(on.router.match(completed, 'firecrawl').sinks).toEqual(['archive', 'console']);
  });

  it('does not check the options of a disabled sink', () => {
    const yaml = VALID.replace('type: stdout', 'type: stdout\n    enabled: false\n    format: xml');
    expect(load(yaml, { SECRET: 's' }).disabledSinks).toEqual(['console']);
  });

  it('accepts token auth and auth: none', () => {
    const token = VALID.replace('secrets: ["${SECRET}"]', 'auth: { header: X-Relay-Token, tokens: ["${TOKEN}"] }');
    expect(load(token, { TOKEN: 't' }).sources[0]!.auth).toEqual({ kind: 'token', header: 'x-relay-token', tokens: ['t'] });
    const none = VALID.replace('secrets: ["${SECRET}"]', 'auth: none');
    expect(load(none).sources[0]!.auth).toEqual({ kind: 'none' });
  });

  it('accepts token auth from a query parameter, with or without a header', () => {
    const both = VALID.replace('secrets: ["${SECRET}"]', 'auth: { header: X-Relay-Token, query: token, tokens: [t] }');
    expect(load(both).sources[0]!.auth).toEqual({ kind: 'token', header: 'x-relay-token', query: 'token', tokens: ['t'] });
    const queryOnly = VALID.replace('secrets: ["${SECRET}"]', 'auth: { query: token, tokens: [t] }');
    expect(load(queryOnly).sources[0]!.auth).toEqual({ kind: 'token', query: 'token', tokens: ['t'] });
  });

  it.each([
    { written: '', mode: 'webhook_id' },
    { written: 'webhook_id', mode: 'webhook_id' },
    { written: 'body', mode: 'body' },
    { written: 'none', mode: 'none' },
    { written: 'false', mode: 'none' },
  ])('reads dedupe: $written as $mode', ({ written, mode }) => {
    const yaml = written ? VALID.replace('secrets: ["${SECRET}"]', `secrets: ["\${SECRET}"]\n    dedupe: ${written}`) : VALID;
    const config = load(yaml, { SECRET: 's' });
    expect(config.sources[0]!.dedupe).toBe(mode);
    expect(config.warnings).toEqual([]);
  });

  it('reads the deprecated dedupe: true as webhook_id and warns that bodies are no longer hashed', () => {
    const config = load(VALID.replace('secrets: ["${SECRET}"]', 'secrets: ["${SECRET}"]\n    dedupe: true'), { SECRET: 's' });
    expect(config.sources[0]!.dedupe).toBe('webhook_id');
    expect(config.warnings.map(formatIssue)).toEqual([
      expect.stringMatching(/^relay.config.yaml:6:13 sources.firecrawl.dedupe: expected webhook_id, body or none, got true \(deprecated\): read as webhook_id.*write `body` to keep that \[RELAY_ERR_CONFIG_DEPRECATED\]$/),
    ]);
  });

  it('warns about a sink no route names and a glob that matches no documented type', () => {
    const yaml = VALID.replace('to: [console]', 'to: [archive]').replace('type: "*"', 'type: "crawl.pgae"');
    const warnings = load(yaml, { SECRET: 's' }).warnings.map(formatIssue);
    expect(warnings).toEqual([
      expect.stringMatching(/^relay.config.yaml:10:3 sinks.console: sink "console" is named by no route/),
      expect.stringMatching(/^relay.config.yaml:14:20 routes\[0\].match.type: "crawl.pgae" matches no documented event type/),
    ]);
  });

  // Issue 17 (trial): a sink with enabled: false was also said to be "named by no route".
  it('does not warn that a disabled sink is named by no route', () => {
    const yaml = VALID.replace('to: [console]', 'to: [archive]').replace('    type: stdout', '    type: stdout\n    enabled: false');
    expect(load(yaml, { SECRET: 's' }).warnings.map(formatIssue)).toEqual([]);
  });

  // No sender emits it: self-hosted Firecrawl ends a cancelled crawl with crawl.completed.
  describe('token checks', () => {
    const withAuth = (auth: string) => VALID.replace('secrets: ["${SECRET}"]', `auth: ${auth}`);
    const LONG = 'a1b2c3d4e5f6a7b8c9d0';

    it.each([
      { name: 'a token of 16 or more safe characters', auth: `{ header: X-Relay-Token, query: token, tokens: [${LONG}, A-Za_z.0~9-abcdefgh] }`, warnings: [] },
      {
        name: 'a short token',
        auth: `{ header: X-Relay-Token, tokens: [${LONG}, short-token] }`,
        warnings: [/^relay.config.yaml:5:67 sources.firecrawl.auth.tokens\[1\]: expected a token of at least 16 characters, got 11: a short token is easy to guess/],
      },
      {
        name: 'a token a query string would alter, with query',
        auth: `{ query: token, tokens: ["${LONG}+/="] }`,
        warnings: [/^relay.config.yaml:5:36 sources.firecrawl.auth.tokens\[0\]: expected a token of letters, digits and - . _ ~ with `query: token`, got other characters: in a query string a `\+` is read as a space/],
      },
      { name: 'the same token read from a header only', auth: `{ header: X-Relay-Token, tokens: ["${LONG}+/="] }`, warnings: [] },
    ])('$name', ({ auth, warnings }) => {
      const issues = load(withAuth(auth)).warnings;
      expect(issues.map(formatIssue)).toEqual(warnings.map((w) => expect.stringMatching(w)));
      expect(JSON.stringify(issues)).not.toMatch(/short-token|a1b2c3/);
    });
  });

  it('warns about a route on crawl.cancelled', () => {
    const warnings = load(VALID.replace('type: "*"', 'type: "crawl.cancelled"'), { SECRET: 's' }).warnings.map(formatIssue);
    expect(warnings).toEqual([expect.stringMatching(/^relay.config.yaml:14:20 routes\[0\].match.type: "crawl.cancelled" matches no documented event type/)]);
  });

  // Review of issue 17, item 2: warnings were dropped whenever there were errors (a second round).
  it.each([
    ['an error of the references layer', 'to: [archive, archvie]'],
    ['an error of the schema layer', 'to: [archive]\n    extra_key: 1'],
  ])('reports the warnings with the errors in one ConfigError, with %s, and a did-you-mean for event names', (_, to) => {
    const yaml = VALID.replace('to: [archive]', to).replace('match: { type: "*" }', 'match: { type: "crawl.pgae", events: [complted] }');
    let error: unknown;
    try {
      load(yaml, { SECRET: 's' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { issues, warnings, message } = error as ConfigError;
    expect(issues.length).toBe(1);
    expect(warnings.map(formatIssue)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/routes\[0\].match.type: "crawl.pgae" matches no documented event type: did you mean "crawl.page"\? \[RELAY_ERR_CONFIG_INVALID\]$/),
        expect.stringMatching(/routes\[0\].match.events\[0\]: "complted" is none of Firecrawl's event words \(.*\): did you mean "completed"\? \[RELAY_ERR_CONFIG_INVALID\]$/),
      ]),
    );
    // What check prints: errors first, then every warning.
    expect(message).toMatch(/^invalid configuration \(1 error\):\n.*\n\nwarnings \(\d\):\n.*"crawl.pgae"/s);
  });

  it('loads the shipped relay.config.yaml', () => {
    const config = loadConfigFile(new URL('../../relay.config.yaml', import.meta.url).pathname, {
      registry,
      env: { FIRECRAWL_WEBHOOK_SECRET: 'x' },
    });
    expect(config.sources.map((s) => s.path)).toEqual(['/webhooks/firecrawl']);
    expect(config.sinks.map((s) => s.type).sort()).toEqual(['file', 'stdout']);
    expect(config.disabledSinks).toEqual(['slack']);
    expect(config.warnings).toEqual([]);
    const withSlack = loadConfigFile(new URL('../../relay.config.yaml', import.meta.url).pathname, {
      registry,
      env: { FIRECRAWL_WEBHOOK_SECRET: 'x', SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/X' },
    });
    expect(withSlack.sinks.map((s) => s.type).sort()).toEqual(['file', 'slack', 'stdout']);
    const page404 = { success: true, type: 'crawl.page', id: 'j', data: [{ metadata: { statusCode: 404 } }], metadata: {} };
    const page200 = { ...page404, data: [{ metadata: { statusCode: 200 } }] };
    expect(withSlack.router.match(page404, 'firecrawl').sinks).toEqual(['archive', 'slack']);
    expect(withSlack.router.match(page200, 'firecrawl').sinks).toEqual(['archive']);
    const failed = { success: false, type: 'crawl.failed', id: 'j', data: [], metadata: {}, error: 'x' };
    expect(withSlack.router.match(failed, 'firecrawl').sinks).toEqual(['archive', 'console', 'slack']);
  });
});

describe('config errors', () => {
  const cases: Array<{ name: string; yaml: string; env?: Record<string, string>; code: string; at: string; message: RegExp }> = [
    {
      name: 'an unset variable without default names the variable',
      yaml: VALID,
      code: 'RELAY_ERR_CONFIG_ENV_UNSET',
      at: 'relay.config.yaml:5:15 sources.firecrawl.secrets[0]',
      message: /environment variable SECRET is not set/,
    },
    {
      name: 'a secret that is set but empty says which variable to set',
      yaml: VALID,
      env: { SECRET: '' },
      code: 'RELAY_ERR_CONFIG_NO_SECRET',
      at: 'relay.config.yaml:5:14 sources.firecrawl.secrets',
      message: /expected at least one signing secret, got none: set SECRET/,
    },
    {
      name: 'an unknown sink in a route lists the known ones',
      yaml: VALID.replace('to: [archive]', 'to: [archvie]'),
      code: 'RELAY_ERR_CONFIG_UNKNOWN_SINK',
      at: 'relay.config.yaml:15:10 routes[0].to[0]',
      message: /unknown sink "archvie" \(known: archive, console\)/,
    },
    {
      name: 'an unknown sink type lists the known types',
      yaml: VALID.replace('type: stdout', 'type: stdot'),
      code: 'RELAY_ERR_CONFIG_UNKNOWN_SINK_TYPE',
      at: 'relay.config.yaml:11:11 sinks.console.type',
      message: /unknown sink type "stdot" \(known: file, kafka, s3, slack, stdout, webhook\)/,
    },
    {
      name: 'an unknown top-level key points at the key',
      yaml: `${VALID}rotues: []\n`,
      code: 'RELAY_ERR_CONFIG_SCHEMA',
      at: 'relay.config.yaml:19:1 rotues',
      message: /unknown key "rotues" \(known: server, plugins, admin, log, sources, queue, dead_letters, history, sinks, routes\)/,
    },
    {
      name: 'a wrong type says what was expected and got',
      yaml: VALID.replace('sources:', 'server:\n  port: eighty\nsources:'),
      env: { SECRET: 's' },
      code: 'RELAY_ERR_CONFIG_SCHEMA',
      at: 'relay.config.yaml:3:9 server.port',
      message: /expected an integer, got "eighty"/,
    },
    {
      name: 'a shutdown timeout past 10 min (2^31-1 ms would overflow every timer built on it) says the bound',
      yaml: VALID.replace('sources:', 'server:\n  shutdown_timeout_ms: 2147483647\nsources:'),
      env: { SECRET: 's' },
      code: 'RELAY_ERR_CONFIG_SCHEMA',
      at: 'relay.config.yaml:3:24 server.shutdown_timeout_ms',
      message: /600000/,
    },
    {
      name: "a sink's own option is checked against its schema",
      yaml: VALID.replace('type: stdout', 'type: stdout\n    format: xml'),
      env: { SECRET: 's' },
      code: 'RELAY_ERR_CONFIG_SINK_OPTIONS',
      at: 'relay.config.yaml:12:13 sinks.console.format',
      message: /expected one of "event", "summary", got "xml"/,
    },
    {
      name: 'a missing required sink option',
      yaml: VALID.replace('    dir: ./out\n', ''),
      env: { SECRET: 's' },
      code: 'RELAY_ERR_CONFIG_SINK_OPTIONS',
      at: 'relay.config.yaml:8:5 sinks.archive',
      message: /missing required key "dir"/,
    },
    {
      name: 'a PostgreSQL queue without its url',
      yaml: VALID.replace('sources:', 'queue:\n  store: postgres\nsources:'),
      env: { SECRET: 's' },
      code: 'RELAY_ERR_CONFIG_SCHEMA',
      at: 'relay.config.yaml:3:3 queue',
      message: /missing required key "url"/,
    },
    {
      name: 'a queue url that is not a PostgreSQL URL',
      yaml: VALID.replace('sources:', 'queue:\n  store: postgres\n  url: mysql://db/relay\nsources:'),
      env: { SECRET: 's' },
      code: 'RELAY_ERR_CONFIG_SCHEMA',
      at: 'relay.config.yaml:4:8 queue.url',
      message: /postgres/,
    },
    {
      name: 'a queue url whose password holds an unescaped # and @ (never echoed)',
      yaml: VALID.replace('sources:', 'queue:\n  store: postgres\n  url: ${DATABASE_URL}\nsources:'),
      env: { SECRET: 's', DATABASE_URL: 'postgres://relay:Xy7@Kq9zR2pQ#tail@host/db' },
      code: 'RELAY_ERR_CONFIG_QUEUE_URL',
      at: 'relay.config.yaml:4:8 queue.url',
      message: /^(?!.*(Xy7|Kq9zR2pQ|tail)).*percent-encode @ # \/ \? in the password \(%40 %23 %2F %3F\)$/,
    },
    ...['pg_relay', 'PG_temp', 'information_schema'].map((schema) => ({
      name: `a queue schema of PostgreSQL's own: ${schema}`,
      yaml: VALID.replace('sources:', `queue:\n  store: postgres\n  url: postgres://relay@db/relay\n  schema: ${schema}\nsources:`),
      env: { SECRET: 's' },
      code: 'RELAY_ERR_CONFIG_QUEUE_SCHEMA',
      at: 'relay.config.yaml:5:11 queue.schema',
      message: new RegExp(`got "${schema}": names starting with pg_ and information_schema belong to PostgreSQL`),
    })),
    {
      name: 'a queue url whose password holds an unescaped /',
      yaml: VALID.replace('sources:', 'queue:\n  store: postgres\n  url: postgres://relay:ab/cd@db:5432/relay\nsources:'),
      env: { SECRET: 's' },
      code: 'RELAY_ERR_CONFIG_QUEUE_URL',
      at: 'relay.config.yaml:4:8 queue.url',
      message: /^(?!.*(ab\/cd|db:5432)).*percent-encode/,
    },
    {
      name: 'a duplicate key in a map',
      yaml: VALID.replace('  console:', '  archive:'),
      code: 'RELAY_ERR_CONFIG_DUPLICATE',
      at: 'relay.config.yaml:10:3 (yaml)',
      message: /a key is written twice/,
    },
    {
      name: 'a duplicate route name',
      yaml: VALID.replace('name: lifecycle', 'name: all'),
      env: { SECRET: 's' },
      code: 'RELAY_ERR_CONFIG_DUPLICATE',
      at: 'relay.config.yaml:16:11 routes[1].name',
      message: /route name "all" is already used by routes\[0\]/,
    },
    {
      name: 'a bad glob',
      yaml: VALID.replace('type: "*"', 'type: "crawl.[page"'),
      env: { SECRET: 's' },
      code: 'RELAY_ERR_CONFIG_BAD_GLOB',
      at: 'relay.config.yaml:14:20 routes[0].match.type',
      message: /got "crawl.\[page"/,
    },
    {
      name: 'a bad glob inside a list points at the item',
      yaml: VALID.replace('type: "*"', 'type: ["crawl.page", "crawl page"]'),
      env: { SECRET: 's' },
      code: 'RELAY_ERR_CONFIG_BAD_GLOB',
      at: 'relay.config.yaml:14:35 routes[0].match.type[1]',
      message: /got "crawl page"/,
    },
    {
      name: 'a where condition with two operators',
      yaml: VALID.replace('match: { type: "*" }', 'match: { where: [{ field: "success", equals: true, exists: true }] }'),
      env: { SECRET: 's' },
      code: 'RELAY_ERR_CONFIG_BAD_CONDITION',
      at: 'relay.config.yaml:14:22 routes[0].match.where[0]',
      message: /expected exactly one operator .* got equals, exists/,
    },
    {
      name: 'a where condition on a malformed field path',
      yaml: VALID.replace('match: { type: "*" }', 'match: { where: [{ field: "data[x].url", exists: true }] }'),
      env: { SECRET: 's' },
      code: 'RELAY_ERR_CONFIG_BAD_CONDITION',
      at: 'relay.config.yaml:14:22 routes[0].match.where[0]',
      message: /expected a field path .* got "data\[x\].url"/,
    },
    {
      name: 'two sources on one path',
      yaml: VALID.replace('sinks:', '  again:\n    path: /webhooks/firecrawl\n    auth: none\nsinks:'),
      env: { SECRET: 's' },
      code: 'RELAY_ERR_CONFIG_DUPLICATE',
      at: 'relay.config.yaml:7:11 sources.again.path',
      message: /path \/webhooks\/firecrawl is already the path of source "firecrawl"/,
    },
    {
      name: 'a source on a path the relay keeps for itself',
      yaml: VALID.replace('path: /webhooks/firecrawl', 'path: /metrics'),
      env: { SECRET: 's' },
      code: 'RELAY_ERR_CONFIG_INVALID',
      at: 'relay.config.yaml:4:11 sources.firecrawl.path',
      message: /expected a path other than the relay's own/,
    },
    {
      name: 'a body limit past the in-flight budget (one body could never be held)',
      yaml: `server: { body_limit_bytes: 65536, max_inflight_bytes: 40000 }\n${VALID}`,
      env: { SECRET: 's' },
      code: 'RELAY_ERR_CONFIG_INVALID',
      at: 'relay.config.yaml:1:29 server.body_limit_bytes',
      message: /^expected server.body_limit_bytes at most server.max_inflight_bytes \(40000\), got 65536/,
    },
    {
      name: 'a per-address share smaller than one body',
      yaml: `server: { body_limit_bytes: 65536, max_inflight_bytes_per_peer: 40000 }\n${VALID}`,
      env: { SECRET: 's' },
      code: 'RELAY_ERR_CONFIG_INVALID',
      at: 'relay.config.yaml:1:65 server.max_inflight_bytes_per_peer',
      message: /^expected server.max_inflight_bytes_per_peer at least server.body_limit_bytes \(65536\), got 40000/,
    },
    {
      name: 'an unknown auth mode',
      yaml: VALID.replace('secrets: ["${SECRET}"]', 'auth: hmac'),
      code: 'RELAY_ERR_CONFIG_SCHEMA',
      at: 'relay.config.yaml:5:11 sources.firecrawl.auth',
      // A string under `auth` may be the token itself: its length only.
      message: /expected one of "signature", "none", got a string of 4 characters \(not shown/,
    },
    {
      name: 'token auth with neither header nor query',
      yaml: VALID.replace('secrets: ["${SECRET}"]', 'auth: { tokens: [t] }'),
      code: 'RELAY_ERR_CONFIG_INVALID',
      at: 'relay.config.yaml:5:11 sources.firecrawl.auth',
      message: /expected a `header` or a `query` parameter to read the token from, got neither/,
    },
    {
      name: 'secrets next to token auth (never checked)',
      yaml: VALID.replace('secrets: ["${SECRET}"]', 'secrets: ["${SECRET}"]\n    auth: { header: X-Relay-Token, tokens: [a1b2c3d4e5f6a7b8c9d0] }'),
      env: { SECRET: 's' },
      code: 'RELAY_ERR_CONFIG_INVALID',
      at: 'relay.config.yaml:5:14 sources.firecrawl.secrets',
      message: /^expected no `secrets` with token auth, got some: signatures are not checked under token auth/,
    },
    {
      name: 'a token of whitespace only',
      yaml: VALID.replace('secrets: ["${SECRET}"]', 'auth: { header: X-Relay-Token, tokens: ["   "] }'),
      code: 'RELAY_ERR_CONFIG_INVALID',
      at: 'relay.config.yaml:5:45 sources.firecrawl.auth.tokens[0]',
      message: /^expected a token, got 3 whitespace characters$/,
    },
    {
      name: 'an unknown dedupe mode lists the known ones',
      yaml: VALID.replace('secrets: ["${SECRET}"]', 'secrets: ["${SECRET}"]\n    dedupe: maybe'),
      env: { SECRET: 's' },
      code: 'RELAY_ERR_CONFIG_SCHEMA',
      at: 'relay.config.yaml:6:13 sources.firecrawl.dedupe',
      message: /expected one of "webhook_id", "body", "none", got "maybe"$/,
    },
    {
      name: 'broken YAML',
      yaml: VALID.replace('to: [archive]', 'to: [archive'),
      code: 'RELAY_ERR_CONFIG_YAML',
      at: 'relay.config.yaml:',
      message: /./,
    },
  ];

  it.each(cases)('$name', ({ yaml, env, code, at, message }) => {
    const issues = issuesOf(yaml, env);
    const issue = issues.find((i) => i.code === code);
    expect(issue, JSON.stringify(issues, null, 2)).toBeDefined();
    expect(formatIssue(issue!).startsWith(at), formatIssue(issue!)).toBe(true);
    expect(issue!.message).toMatch(message);
  });

  // One flow-style slip gave 64 errors, 62 of them "unexpected text here" on every later line.
  it('lists the YAML syntax errors of the first broken line, then how many more follow', () => {
    const yaml = `server: { port: \${PORT} }\n${VALID}`;
    const lines = issuesOf(yaml, { SECRET: 's', PORT: '8080' }).map(formatIssue);
    const rest = lines.pop()!;
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^relay\.config\.yaml:1:\d+ \(yaml\): .* \[RELAY_ERR_CONFIG_YAML\]$/);
    expect(rest).toMatch(
      /^relay\.config\.yaml:3:1 \(yaml\): \d+ more YAML syntax errors from here on, not listed: they most likely follow from the ones? above .*a \$\{VAR\} inside \{ \} or \[ \] is read as YAML there/,
    );
    expect(Number(/(\d+) more/.exec(rest)![1])).toBeGreaterThan(10);
  });

  it('collects every error at once', () => {
    const yaml = VALID.replace('to: [archive]', 'to: [nope]').replace('type: stdout', 'type: nope').replace('type: "*"', 'type: "a b"');
    const codes = issuesOf(yaml).map((i) => i.code).sort();
    expect(codes).toEqual([
      'RELAY_ERR_CONFIG_BAD_GLOB',
      'RELAY_ERR_CONFIG_ENV_UNSET',
      'RELAY_ERR_CONFIG_UNKNOWN_SINK',
      'RELAY_ERR_CONFIG_UNKNOWN_SINK_TYPE',
    ]);
  });

  // Issue 17 item 1: a typo in a route's match gave one error; fixed, six more came.
  it('reports schema, sink options and references in one run, with a guess where a name is close', () => {
    const yaml = `
sources:
  firecrawl: { path: /webhooks/firecrawl, secrets: [s] }
sinks:
  archive: { type: file, dir: ./out, markdwon: true }
  hook: { type: webhook, url: "http://127.0.0.1:9/", timeout: 3000 }
  pages: { type: fiel, dir: ./pages }
routes:
  - name: all
    match: { typ: "crawl.*" }
    to: [archvie, hook, nowhere]
  - name: mine
    match: { source: firecrawk }
    to: [archive]
`;
    const lines = issuesOf(yaml).map(formatIssue);
    expect(lines).toEqual([
      'relay.config.yaml:10:14 routes[0].match.typ: unknown key "typ" (known: type, events, success, source, where): did you mean "type"? [RELAY_ERR_CONFIG_SCHEMA]',
      'relay.config.yaml:5:38 sinks.archive.markdwon: unknown key "markdwon" (known: dir, jsonl, markdown, max_pages_per_event): did you mean "markdown"? [RELAY_ERR_CONFIG_SINK_OPTIONS]',
      'relay.config.yaml:6:54 sinks.hook.timeout: unknown key "timeout" (known: url, headers, timeout_ms, body, signature, follow_redirects): did you mean "timeout_ms"? [RELAY_ERR_CONFIG_SINK_OPTIONS]',
      'relay.config.yaml:7:18 sinks.pages.type: unknown sink type "fiel" (known: file, kafka, s3, slack, stdout, webhook): did you mean "file"? [RELAY_ERR_CONFIG_UNKNOWN_SINK_TYPE]',
      'relay.config.yaml:11:10 routes[0].to[0]: unknown sink "archvie" (known: archive, hook, pages): did you mean "archive"? [RELAY_ERR_CONFIG_UNKNOWN_SINK]',
      'relay.config.yaml:11:25 routes[0].to[2]: unknown sink "nowhere" (known: archive, hook, pages) [RELAY_ERR_CONFIG_UNKNOWN_SINK]',
      'relay.config.yaml:13:22 routes[1].match.source: unknown source "firecrawk" (known: firecrawl): did you mean "firecrawl"? [RELAY_ERR_CONFIG_INVALID]',
    ]);
  });

  it('reports a file that cannot be read', () => {
    const { dir, cleanup } = tempDir();
    try {
      expect(() => loadConfigFile(join(dir, 'missing.yaml'), { registry })).toThrow(/cannot read .*missing.yaml: ENOENT/);
      writeFileSync(join(dir, 'ok.yaml'), VALID);
      expect(loadConfigFile(join(dir, 'ok.yaml'), { registry, env: { SECRET: 's' } }).dir).toBe(dir);
    } finally {
      cleanup();
    }
  });
});

describe('secrets in config values and errors', () => {
  const withAdmin = (token: string) => VALID.replace('sources:', `admin:\n  token: ${token}\nsources:`);

  it.each(['123456', '0x1F', '1e5', '98765432123', 'true', '007'])('keeps a secret that reads as a number or boolean (%s) as its text', (value) => {
    const config = load(withAdmin('${ADM}').replace('secrets: ["${SECRET}"]', 'secrets:\n      - ${SECRET}'), { SECRET: value, ADM: value });
    expect(config.admin.token).toBe(value);
    expect(config.sources[0]!.auth).toEqual({ kind: 'signature', secrets: [value] });
    expect(load(withAdmin('${ADM:-98765432123}'), { SECRET: 's' }).admin.token).toBe('98765432123');
  });

  it('gives a reference its YAML type where the schema takes any type: a route on ${CODE:-200} matches statusCode 200', () => {
    const yaml = VALID.replace('match: { type: "*" }', 'match:\n      where:\n        - field: data[*].metadata.statusCode\n          equals: ${CODE:-200}\n        - field: metadata.team\n          one_of:\n            - ${TEAM}\n            - x');
    const config = load(yaml, { SECRET: 's', TEAM: '7' });
    const page = (statusCode: unknown, team: unknown) => ({ success: true, type: 'crawl.page', id: 'j', data: [{ metadata: { statusCode } }], metadata: { team } });
    expect(config.router.match(page(200, 7), 'firecrawl').sinks).toEqual(['archive']);
    expect(config.router.match(page('200', 7), 'firecrawl').sinks).toEqual([]);
    expect(config.router.match(page(200, '7'), 'firecrawl').sinks).toEqual([]);
  });

  it('still gives a number or boolean field its type from an unquoted reference', () => {
    const yaml = VALID.replace('sources:', 'server:\n  port: ${PORT}\nsources:').replace('dir: ./out', 'dir: ./out\n    markdown: ${MD}\n    max_pages_per_event: ${MAX}');
    const config = load(yaml, { SECRET: 's', PORT: '0x1F', MD: 'false', MAX: '1e3' });
    expect(config.server.port).toBe(31);
    expect(config.sinks[0]!.options).toMatchObject({ markdown: false, max_pages_per_event: 1000 });
  });

  const SECRET_VALUE = 's3cr3tV4lue';
  const hidden: Array<{ name: string; yaml: string; env?: Record<string, string>; at: RegExp }> = [
    { name: 'a list where the admin token should be', yaml: withAdmin(`[${SECRET_VALUE}]`), at: /admin.token: expected a string, got a list of 1/ },
    { name: 'a Slack URL without its scheme', yaml: VALID.replace('type: stdout', `type: slack\n    url: ${SECRET_VALUE}.hooks.slack.com/services/T0/B0/x`), at: /sinks.console.url: expected a string matching .*, got a string of 44 characters \(not shown/ },
    { name: 'a URL with a password', yaml: VALID.replace('type: stdout', `type: webhook\n    url: "ftp://relay:${SECRET_VALUE}@example.com/"`), at: /sinks.console.url: expected a string matching .*, got a string of \d+ characters/ },
    { name: 'a Kafka password given as a number', yaml: VALID.replace('type: stdout', 'type: kafka\n    brokers: ["k:9092"]\n    sasl: { mechanism: plain, username: u, password: 123456789 }'), at: /sinks.console.sasl.password: expected a string, got a number \(not shown/ },
    { name: 'an S3 secret key given as a list', yaml: VALID.replace('type: stdout', `type: s3\n    bucket: bkt\n    secret_access_key: [${SECRET_VALUE}]`), at: /secret_access_key: expected a string, got a list of 1/ },
    { name: 'a YAML escape error in a quoted secret', yaml: withAdmin(`"\\q${SECRET_VALUE}"`), at: /invalid escape sequence in a double-quoted string/ },
    { name: 'a YAML block scalar header with trailing text', yaml: withAdmin(`|${SECRET_VALUE}\n    x`), at: /./ },
    { name: 'a flow scalar after a quoted value', yaml: withAdmin(`"a" ${SECRET_VALUE}`), at: /./ },
    { name: 'a token written without its space (read as the parent\'s value)', yaml: VALID.replace('sources:', `admin:\n  token:${SECRET_VALUE}\nsources:`), at: /admin: expected a map, got a string of \d+ characters \(not shown/ },
    { name: 'an unquoted secret starting with "*" (an alias without anchor)', yaml: withAdmin(`*${SECRET_VALUE}`), at: /3:10 \(yaml\): an alias \(\*name\) with no anchor/ },
    { name: 'a Kafka broker with user:password@', yaml: VALID.replace('type: stdout', `type: kafka\n    brokers: ["user:${SECRET_VALUE}@host:9092"]`), at: /brokers\[0\]: expected .*, got a string of \d+ characters \(not shown/ },
    { name: 'a webhook header given as a number', yaml: VALID.replace('type: stdout', 'type: webhook\n    url: https://example.com/h\n    headers: { X-Key: 98765432123456 }'), at: /headers.X-Key: expected a string, got a number \(not shown/ },
    { name: 'a webhook URL without scheme', yaml: VALID.replace('type: stdout', `type: webhook\n    url: example.com/hook/${SECRET_VALUE}`), at: /console.url: expected .*, got a string of \d+ characters \(not shown/ },
    { name: 'a token given as the auth mode', yaml: VALID.replace('secrets: ["${SECRET}"]', `auth: "${SECRET_VALUE}"`), at: /sources.firecrawl.auth: expected one of "signature", "none", got a string of \d+ characters \(not shown/ },
    { name: 'a webhook secret given as the signature', yaml: VALID.replace('type: stdout', `type: webhook\n    url: https://example.com/h\n    signature: "whsec_${SECRET_VALUE}"`), at: /console.signature: expected a map, got a string of \d+ characters \(not shown/ },
    { name: 'a Kafka header template left open', yaml: VALID.replace('type: stdout', `type: kafka\n    brokers: ["k:9092"]\n    headers: { Authorization: "Bearer ${SECRET_VALUE}{{id" }`), at: /headers.Authorization: expected every "\{\{" closed by "\}\}"/ },
    { name: 'a Slack URL that cannot be parsed', yaml: VALID.replace('type: stdout', `type: slack\n    url: "https://exa mple.com/${SECRET_VALUE}"`), at: /console.url: expected a URL that can be parsed, got a string of \d+ characters \(not shown/ },
    { name: 'a webhook URL with user:password@ (never sent)', yaml: VALID.replace('type: stdout', `type: webhook\n    url: "https://relay:${SECRET_VALUE}@example.com/hook"`), at: /sinks.console.url: expected a URL without user:password@, got one with credentials \(not shown\).*headers: \{ authorization/ },
    { name: 'a Slack URL with user:password@ (fetch refuses it)', yaml: VALID.replace('type: stdout', `type: slack\n    url: "https://u:${SECRET_VALUE}@hooks.slack.com/services/T0/B0/x"`), at: /sinks.console.url: expected a URL without user:password@, got .*\[RELAY_ERR_CONFIG_SINK_OPTIONS\]/ },
    { name: 'a shell default ${NAME:=word} under a secret key', yaml: withAdmin(`"\${ADM:=${SECRET_VALUE}}"`), at: /admin.token: expected a variable reference as .*, got \$\{ADM:=…\}/ },
    { name: 'a shell default ${NAME-word} in a secret list', yaml: VALID.replace('${SECRET}', `\${TOK-${SECRET_VALUE}}`), at: /secrets\[0\]: expected a variable reference as .*, got \$\{TOK-…\}/ },
    { name: 'a shell ${NAME:?message} under a secret key', yaml: withAdmin(`"\${ADM:?${SECRET_VALUE} must be set}"`), at: /got \$\{ADM:\?…\}/ },
    { name: 'a reference that does not start with a name', yaml: withAdmin(`"\${!${SECRET_VALUE}}"`), at: /got a reference that does not start with a variable name/ },
    { name: 'an unclosed ${ (read literally before)', yaml: withAdmin(`"\${ADM:-${SECRET_VALUE}"`), at: /admin.token: expected a `\}` closing the `\$\{` .*write `\$\$\{` for a literal/ },
  ];

  it.each([
    ['!!binary', 'headers: !!binary czNjcjN0VjRsdWU='],
    ['!!timestamp', 'headers: { authorization: !!timestamp 2001-12-14 }'],
    ['!!set', 'headers: !!set { a }'],
  ])('reports a %s value as one error, not its internals', (tag, headers) => {
    const issues = issuesOf(VALID.replace('type: stdout', `type: webhook\n    url: https://example.com/h\n    ${headers}`), { SECRET: 's' });
    expect(issues.map(formatIssue)).toEqual([expect.stringMatching(new RegExp(`sinks.console.headers(.authorization)?: expected a string, number, boolean, list or map, got a ${tag} value \\(not shown`))]);
  });

  it.each(hidden)('does not echo the value: $name', ({ yaml, env, at }) => {
    const issues = issuesOf(yaml, { SECRET: 's', ...env });
    const text = issues.map(formatIssue).join('\n');
    expect(text).toMatch(at);
    expect(text).not.toContain(SECRET_VALUE);
    expect(text).not.toContain('123456789');
    expect(text).not.toContain('98765432123456');
  });

  it.each(['%', '!'])('prints no YAML warning quoting a secret that starts with "%s"', (first) => {
    const warned: string[] = [];
    const spy = vi.spyOn(process, 'emitWarning').mockImplementation((warning: string | Error) => void warned.push(String(warning)));
    try {
      expect(load(withAdmin('${ADM}'), { SECRET: 's', ADM: `${first}${SECRET_VALUE}` }).admin.token).toBe(`${first}${SECRET_VALUE}`);
    } finally {
      spy.mockRestore();
    }
    expect(warned).toEqual([]);
  });

  it('still echoes a value under a key that holds no secret', () => {
    const text = issuesOf(VALID.replace('dir: ./out', 'dir: ./out\n    jsonl: 42'), { SECRET: 's' }).map(formatIssue).join('\n');
    expect(text).toContain('got number 42');
  });
});
