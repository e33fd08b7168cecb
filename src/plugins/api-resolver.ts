import Module, { register } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * A module resolve hook, run in Node's loader thread: maps the relay's public specifiers to
 * the relay's own files, whoever imports them. Inline (a data: URL) so it needs no file of
 * its own next to the build, and works the same from src/ under tests.
 */
const HOOK = `
let targets = {};
export function initialize(data) { targets = data; }
export async function resolve(specifier, context, next) {
  const url = targets[specifier];
  return url ? { url, format: 'module', shortCircuit: true } : next(specifier, context);
}
`;

// The package root is two folders up from both src/plugins and dist/plugins.
const ROOT = new URL('../../', import.meta.url);

/** Public specifiers of the relay and the built file each one is. */
export const RELAY_API = {
  'firecrawl-relay/plugin-api': new URL('dist/plugin-api/index.js', ROOT).href,
  'firecrawl-relay/testing': new URL('dist/testing/index.js', ROOT).href,
} as const;

let registered = false;

/**
 * Lets a plugin anywhere on disk import `firecrawl-relay/plugin-api` (and `/testing`):
 * a plugins folder outside the checkout (`/etc/relay/plugins`, a container mount) has no
 * node_modules to find the package in. Registered once, before the first plugin loads.
 */
export function resolveRelayApiForPlugins(): void {
  if (registered) return;
  registered = true;
  register(`data:text/javascript,${encodeURIComponent(HOOK)}`, { data: RELAY_API });
  resolveForRequire();
}

type ResolveFilename = (request: string, ...rest: unknown[]) => string;

/**
 * The same mapping for CommonJS: where no package.json above a plugin says "type": "module"
 * (/etc/relay/plugins, a bare mount), tsx loads its .ts and .js as CommonJS, and their
 * require() never reaches the ESM hook. Node 20 has no synchronous hooks API
 * (module.registerHooks), so the resolver of `require` is wrapped instead.
 */
function resolveForRequire(): void {
  const files: Record<string, string> = Object.fromEntries(Object.entries(RELAY_API).map(([name, url]) => [name, fileURLToPath(url)]));
  const cjs = Module as unknown as { _resolveFilename: ResolveFilename };
  const original = cjs._resolveFilename;
  cjs._resolveFilename = function (request, ...rest) {
    return files[request] ?? original.call(this, request, ...rest);
  };
}
