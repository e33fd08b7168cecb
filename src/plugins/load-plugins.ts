import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { SinkRegistry } from '../config/load.js';
import { ConfigError, type ConfigIssue } from '../config/config-error.js';
import { SINK_SCHEMA } from '../config/schema.js';
import type { ErrorCode } from '../errors.js';
import type { SinkDefinition } from '../plugin-api/types.js';
import { BUILTIN_SINK_TYPES } from '../sinks/loaders.js';
import { resolveRelayApiForPlugins } from './api-resolver.js';
import { missingApiImport } from './api-imports.js';
import { describeLoadFailure } from './load-error.js';
import { commonJsHint, isCommonJs } from './module-format.js';
import { recordPluginFile } from './plugin-file.js';
import { findInSource, type SourcePosition } from './source-position.js';
import { withReadOnlyPayloads } from './read-only-payload.js';

const MODULE = /\.(m?[jt]s)$/;
const SKIPPED = /\.(test|spec)\.[mc]?[jt]s$|\.d\.[mc]?ts$/;

/**
 * The candidate plugin modules of `dir`: its top-level .js/.mjs/.ts/.mts files and folders
 * with an index, less tests and names starting with `_` (helpers: `_shared.ts`, `_lib/`).
 * Files deeper down (`lib/util.ts`) are never loaded by the relay, only by the plugins
 * that import them.
 */
function pluginFiles(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('_') || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      const index = ['index.ts', 'index.mts', 'index.js', 'index.mjs'].map((i) => join(path, i)).find(existsSync);
      if (index) files.push(index);
    } else if (MODULE.test(name) && !SKIPPED.test(name)) files.push(path);
  }
  return files;
}

/**
 * The relay's own tsconfig for plugins, never the one tsx would find from the working
 * directory: its `paths` could map firecrawl-relay/* elsewhere (to .d.ts files, for an
 * editor), and whether a plugin loads must not depend on where the relay was started.
 */
const PLUGIN_TSCONFIG = fileURLToPath(new URL('../../tsconfig.plugins.json', import.meta.url));

async function importModule(file: string): Promise<{ default?: unknown }> {
  resolveRelayApiForPlugins();
  // Through tsx's loader for both (TypeScript without a build step), so that the resolve
  // hook above applies to JavaScript plugins too. tsx is loaded only once there is a
  // plugin to load: commands and configs without plugins do not pay for it.
  if (isCommonJs(file)) {
    // tsImport runs a CommonJS module from a data: URL: every stack frame of the plugin
    // would name that URL. tsx's require keeps the file's path (and its source map).
    const { require: tsxRequire } = await import('tsx/cjs/api');
    // tsx's require takes its tsconfig from this variable only, read as it registers (synchronously here).
    const previous = process.env.TSX_TSCONFIG_PATH;
    process.env.TSX_TSCONFIG_PATH = PLUGIN_TSCONFIG;
    try {
      // Shaped as tsImport gives a CommonJS module: its exports under `default`.
      return { default: tsxRequire(file, import.meta.url) as unknown };
    } finally {
      if (previous === undefined) delete process.env.TSX_TSCONFIG_PATH;
      else process.env.TSX_TSCONFIG_PATH = previous;
    }
  }
  const { tsImport } = await import('tsx/esm/api');
  return tsImport(pathToFileURL(file).href, { parentURL: import.meta.url, tsconfig: PLUGIN_TSCONFIG });
}

const TYPE = /^[a-z][a-z0-9_]*$/;

/** What is wrong with a default export that should be a sink definition, or null. */
function whyNotASink(value: unknown): string | null {
  const v = value as Partial<SinkDefinition<unknown>> | undefined;
  const expected = 'expected a default export made with defineSink({ type, configSchema, create })';
  if (typeof v !== 'object' || v === null) return `${expected}, got ${v === null ? 'null' : typeof v}`;
  if (typeof v.type !== 'string') return `${expected}, got no string \`type\``;
  if (!TYPE.test(v.type)) {
    const suggestion = v.type.toLowerCase().replace(/[^a-z0-9_]/g, '_').replace(/^[^a-z]+/, '');
    return `expected \`type\` in lower snake_case (letters, digits, _; a letter first), got "${v.type}"${suggestion ? `: write "${suggestion}"` : ''}`;
  }
  if (typeof v.configSchema !== 'object' || v.configSchema === null) return `${expected}, got no \`configSchema\` object in sink "${v.type}"`;
  if (typeof v.create !== 'function') return `${expected}, got no \`create\` function in sink "${v.type}"`;
  return whyBadDeliveryDefaults(v.type, v.deliveryDefaults);
}

/** The integer ranges the config's schema allows for the same keys. */
const rangeOf = ({ minimum, maximum }: { minimum: number; maximum: number }): readonly [number, number] => [minimum, maximum];
const DEFAULT_RANGES = {
  batch_max_events: rangeOf(SINK_SCHEMA.properties.batch_max_events),
  max_in_flight: rangeOf(SINK_SCHEMA.properties.max_in_flight),
};

/** `deliveryDefaults` stand in for config keys: held to the same bounds (a NaN batch size stalled delivery). */
function whyBadDeliveryDefaults(type: string, defaults: unknown): string | null {
  if (defaults === undefined) return null;
  if (typeof defaults !== 'object' || defaults === null) return `expected \`deliveryDefaults\` to be an object in sink "${type}", got ${defaults === null ? 'null' : typeof defaults}`;
  const given = defaults as Record<string, unknown>;
  for (const [key, [min, max]] of Object.entries(DEFAULT_RANGES)) {
    const value = given[key];
    if (value !== undefined && !(Number.isInteger(value) && (value as number) >= min && (value as number) <= max)) {
      return `expected \`deliveryDefaults.${key}\` to be an integer from ${min} to ${max} in sink "${type}", got ${String(value)}`;
    }
  }
  const rate = given.rate_limit as { per_second?: unknown; burst?: unknown } | undefined;
  if (rate !== undefined) {
    const perSecond = rate?.per_second;
    if (typeof perSecond !== 'number' || !(perSecond > 0) || !Number.isFinite(perSecond)) {
      return `expected \`deliveryDefaults.rate_limit.per_second\` to be a number above 0 in sink "${type}", got ${String(perSecond)}`;
    }
    if (rate.burst !== undefined && !(Number.isInteger(rate.burst) && (rate.burst as number) >= 1)) {
      return `expected \`deliveryDefaults.rate_limit.burst\` to be an integer of at least 1 in sink "${type}", got ${String(rate.burst)}`;
    }
  }
  return null;
}

/** What loading a plugins folder gave: the registry, and what went wrong or was passed over. */
export interface LoadedPlugins {
  registry: SinkRegistry;
  /** Every plugin that could not be used, as config issues at its file. */
  issues: ConfigIssue[];
  /** Modules with no default export: helpers, not plugins (`file: why`), for a debug line. */
  ignored: string[];
  /** Sink types the config may name whose plugin failed to load (its file's base name). */
  failedTypes: string[];
}

/**
 * Adds the sink plugins found in `dir` to a copy of `builtins`, going on past every
 * problem (a module that fails to import, a default export that is not a sink, a type
 * already taken) so that `check` reports them with the config's own, in one run.
 */
export async function collectPlugins(dir: string, builtins: SinkRegistry, labelFrom = process.cwd()): Promise<LoadedPlugins> {
  const registry = new Map(builtins);
  const loaded: LoadedPlugins = { registry, issues: [], ignored: [], failedTypes: [] };
  if (!existsSync(dir)) return loaded;
  const origin = new Map<string, string>();
  const label = (file: string): string => relative(labelFrom, file) || file;
  const report = (code: ErrorCode, file: string, message: string, at = { line: 1, column: 1 }): void => {
    loaded.issues.push({ code, file: label(file), ...at, path: '(plugin)', message });
    // `plugin new NAME` writes NAME.ts with type NAME: the likeliest type of a broken plugin.
    loaded.failedTypes.push(basename(file.endsWith(`${sep}index${extname(file)}`) ? dirname(file) : file, extname(file)));
  };
  for (const file of pluginFiles(dir)) {
    const missing = await missingApiImport(file);
    if (missing) {
      report('RELAY_ERR_PLUGIN_LOAD', file, `failed to load: ${missing.message}`, { line: missing.line, column: missing.column });
      continue;
    }
    let module: { default?: unknown };
    try {
      module = await importModule(file);
    } catch (err) {
      const { line, column, message } = describeLoadFailure(file, err);
      report('RELAY_ERR_PLUGIN_LOAD', file, `failed to load: ${message}${commonJsHint(file, message)}`, { line, column });
      continue;
    }
    // tsImport of a CommonJS-shaped module nests the default export once more.
    const nested = (module.default as { default?: unknown } | undefined)?.default;
    if (module.default === undefined || (nested === undefined && isNamespaceOnly(module.default))) {
      loaded.ignored.push(`${label(file)}: no default export, not a plugin`);
      continue;
    }
    const exported = nested !== undefined && whyNotASink(module.default) !== null ? nested : module.default;
    const invalid = whyNotASink(exported);
    if (invalid) {
      report('RELAY_ERR_PLUGIN_INVALID', file, invalid, typeWrittenAt(file, exported));
      continue;
    }
    // Its sinks see the payload through a read-only view: writes throw even in sloppy CommonJS.
    const definition = withReadOnlyPayloads(exported as SinkDefinition<unknown>);
    // A built-in type is taken even when the config does not use it (built-ins load lazily).
    const builtin = registry.has(definition.type) || BUILTIN_SINK_TYPES.includes(definition.type);
    const taken = origin.get(definition.type) ?? (builtin ? 'a built-in sink' : undefined);
    if (taken) {
      report('RELAY_ERR_PLUGIN_DUPLICATE_TYPE', file, `sink type "${definition.type}" is already defined by ${taken}`);
      continue;
    }
    registry.set(definition.type, definition);
    origin.set(definition.type, label(file));
    recordPluginFile(definition, label(file), file);
  }
  return loaded;
}

/** Where the plugin writes its `type: '…'` (for a type that is not lower snake_case), else 1:1. */
function typeWrittenAt(file: string, exported: unknown): SourcePosition {
  const type = (exported as { type?: unknown } | null)?.type;
  if (typeof type !== 'string') return { line: 1, column: 1 };
  const quoted = type.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return findInSource(file, new RegExp(`\\btype\\s*:\\s*(['"\`]${quoted}['"\`])`)) ?? { line: 1, column: 1 };
}

/**
 * A CommonJS-shaped module without a default export comes back from tsImport as
 * `{ default: { ...its named exports } }` with no `type`: a helper, like an ESM one.
 */
function isNamespaceOnly(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !('type' in value) && !('create' in value) && !('configSchema' in value);
}

/** `collectPlugins`, throwing every problem as one ConfigError naming the files. */
export async function loadPlugins(dir: string, builtins: SinkRegistry, labelFrom = process.cwd()): Promise<SinkRegistry> {
  const { registry, issues } = await collectPlugins(dir, builtins, labelFrom);
  if (issues.length > 0) throw new ConfigError(issues);
  return registry;
}
