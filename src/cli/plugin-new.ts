import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { ConfigError } from '../config/config-error.js';
import { RelayError } from '../errors.js';
import { loadPlugins } from '../plugins/load-plugins.js';
import { BUILTIN_SINK_TYPES } from '../sinks/loaders.js';

const NAME = /^[a-z][a-z0-9_]*$/;

/** A typed per-event sink that POSTs each event's body to `url`: edit `deliver` to taste. */
const skeleton = (name: string): string => `/**
 * The ${name} sink: written by \`firecrawl-relay plugin new ${name}\`. See docs/plugins.md.
 *
 *   sinks:
 *     my_${name}:
 *       type: ${name}
 *       url: https://example.com/hook
 */
import { defineSink, parseRetryAfter, PermanentError, RetryableError, Type, type RelayEvent } from 'firecrawl-relay/plugin-api';

export default defineSink({
  type: '${name}',
  // Declared once: checked at load (\`firecrawl-relay check\`), defaults filled in, and the
  // type of \`options\` in create() comes from it.
  configSchema: Type.Object(
    {
      url: Type.String({ pattern: '^https?://' }),
      timeout_ms: Type.Integer({ minimum: 1, default: 10_000 }),
    },
    { additionalProperties: false },
  ),
  create(options, ctx) {
    // Per-event: called for one event of a job at a time, jobs side by side (max_in_flight).
    // Resolve once the destination has the event; throw to retry it (RetryableError) or to
    // dead-letter it (PermanentError). Pass \`signal\` on: it aborts on write_timeout_ms and at shutdown.
    async function deliver(event: RelayEvent, signal: AbortSignal): Promise<void> {
      const response = await fetch(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': event.deliveryId },
        // A Uint8Array: what fetch's body takes under both Node's and the DOM's types.
        body: new Uint8Array(event.raw),
        signal: AbortSignal.any([signal, AbortSignal.timeout(options.timeout_ms)]),
      }).catch((err: Error) => {
        throw new RetryableError(\`\${ctx.name}: destination unreachable: \${err.message}\`);
      });
      if (response.ok) return;
      if (response.status === 429 || response.status >= 500) {
        throw new RetryableError(\`destination answered \${response.status}\`, { retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) });
      }
      throw new PermanentError(\`destination answered \${response.status}\`);
    }
    return { deliver };
  },
});
`;

/** The sink contract from firecrawl-relay/testing, against a local HTTP server. */
const contractTest = (name: string): string => `import { httpDestination, sinkContract } from 'firecrawl-relay/testing';
import sink from './${name}.js';

sinkContract({
  name: '${name}',
  sink,
  destination: () =>
    httpDestination({
      options: (url) => ({ url }),
      // What the destination received, as \`<job id>:<error text>\` (the contract sends crawl.failed events).
      eventOf: (body) => {
        const event = JSON.parse(body) as { id: string; error: string };
        return \`\${event.id}:\${event.error}\`;
      },
    }),
});
`;

/**
 * Who already has the sink type `name`, or null. A second sink of one type makes check and
 * serve refuse, so plugin new must not write one. Plugins that fail to load are left to check.
 */
async function ownerOfType(name: string, dir: string): Promise<string | null> {
  if (BUILTIN_SINK_TYPES.includes(name)) return 'a built-in sink';
  const registry = await loadPlugins(dir, new Map()).catch((err: unknown) => {
    if (err instanceof ConfigError) return new Map();
    throw err;
  });
  return registry.has(name) ? `a plugin already in ${relative(process.cwd(), dir) || '.'}/` : null;
}

/** `firecrawl-relay plugin new NAME`: writes `NAME.ts` and `NAME.test.ts` into `dir`; returns their paths. */
export async function newPlugin(name: string, dir: string): Promise<string[]> {
  if (!NAME.test(name)) {
    const suggestion = name.toLowerCase().replace(/[^a-z0-9_]/g, '_').replace(/^[^a-z]+/, '');
    throw new RelayError('RELAY_ERR_CLI_USAGE', [
      `plugin new expects a NAME in lower snake_case (it becomes the sink's type), got "${name}"${suggestion ? `: try "${suggestion}"` : ''}`,
    ]);
  }
  const files = [join(resolve(dir), `${name}.ts`), join(resolve(dir), `${name}.test.ts`)];
  const taken = files.filter((f) => existsSync(f));
  if (taken.length > 0) throw new RelayError('RELAY_ERR_CLI_USAGE', [`plugin new writes no file over another: ${taken.join(', ')} ${taken.length === 1 ? 'exists' : 'exist'}`]);
  const owner = await ownerOfType(name, resolve(dir));
  if (owner) throw new RelayError('RELAY_ERR_CLI_USAGE', [`plugin new expects a NAME no sink has as its type yet, got "${name}", the type of ${owner}: choose another`]);
  mkdirSync(resolve(dir), { recursive: true });
  writeFileSync(files[0]!, skeleton(name));
  writeFileSync(files[1]!, contractTest(name));
  return files;
}
