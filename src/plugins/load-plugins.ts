import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import type { SinkRegistry } from '../config/load.js';
import { ConfigError, type ConfigIssue } from '../config/config-error.js';
import type { ErrorCode } from '../errors.js';
import type { SinkDefinition } from '../plugin-api/types.js';
import { resolveRelayApiForPlugins } from './api-resolver.js';

const MODULE = /\.(m?[jt]s)$/;
const SKIPPED = /\.(test|spec)\.[mc]?[jt]s$|\.d\.[mc]?ts$/;

/** The plugin modules of `dir`: its .js/.mjs/.ts/.mts files, and folders with an index. */
function pluginFiles(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      const index = ['index.ts', 'index.mts', 'index.js', 'index.mjs'].map((i) => join(path, i)).find(existsSync);
      if (index) files.push(index);
    } else if (MODULE.test(name) && !SKIPPED.test(name)) files.push(path);
  }
  return files;
}

function importModule(file: string): Promise<{ default?: unknown }> {
  resolveRelayApiForPlugins();
  // Through Node's own loader for both (TypeScript without a build step), so that the
  // resolve hook above applies to JavaScript plugins too.
  return tsImport(pathToFileURL(file).href, import.meta.url);
}

function isSinkDefinition(value: unknown): value is SinkDefinition<unknown> {
  const v = value as Partial<SinkDefinition<unknown>> | undefined;
  return (
    typeof v === 'object' && v !== null && typeof v.type === 'string' && /^[a-z][a-z0-9_]*$/.test(v.type) &&
    typeof v.configSchema === 'object' && v.configSchema !== null && typeof v.create === 'function'
  );
}

/**
 * Adds the sink plugins found in `dir` to a copy of `builtins`. Every problem (a module
 * that fails to import, a default export that is not a sink, a type already taken) is
 * collected and thrown as one ConfigError naming the files.
 */
export async function loadPlugins(dir: string, builtins: SinkRegistry, labelFrom = process.cwd()): Promise<SinkRegistry> {
  const registry = new Map(builtins);
  if (!existsSync(dir)) return registry;
  const origin = new Map<string, string>();
  const issues: ConfigIssue[] = [];
  const report = (code: ErrorCode, file: string, message: string): void => {
    issues.push({ code, file: relative(labelFrom, file) || file, line: 1, column: 1, path: '(plugin)', message });
  };
  for (const file of pluginFiles(dir)) {
    let module: { default?: unknown };
    try {
      module = await importModule(file);
    } catch (err) {
      report('RELAY_ERR_PLUGIN_LOAD', file, `failed to load: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      continue;
    }
    // tsImport of a CommonJS-shaped module nests the default export once more.
    const exported = isSinkDefinition(module.default) ? module.default : (module.default as { default?: unknown } | undefined)?.default;
    if (!isSinkDefinition(exported)) {
      report('RELAY_ERR_PLUGIN_INVALID', file, 'expected a default export made with defineSink({ type, configSchema, create }), with type in lower snake_case');
      continue;
    }
    const taken = origin.get(exported.type) ?? (registry.has(exported.type) ? 'a built-in sink' : undefined);
    if (taken) {
      report('RELAY_ERR_PLUGIN_DUPLICATE_TYPE', file, `sink type "${exported.type}" is already defined by ${taken}`);
      continue;
    }
    registry.set(exported.type, exported);
    origin.set(exported.type, relative(labelFrom, file) || file);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return registry;
}
