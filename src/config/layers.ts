import type { OptionProblem, SinkDefinition } from '../plugin-api/types.js';
import { describeError } from '../errors.js';
import { findInSource } from '../plugins/source-position.js';
import { createRequire } from 'node:module';
import type { Ajv, AnySchema } from 'ajv';
import { isBuiltinSink } from '../sinks/loaders.js';
import { pluginFileOf, pluginPathOf } from '../plugins/plugin-file.js';
import { issueMessage, type KeyPath } from './config-error.js';
import { didYouMean } from './did-you-mean.js';
import { warnAboutEventNames, type Report } from '../routing/router.js';
import { pointerOf, type TypedCandidates } from './interpolate.js';
import { AJV_OPTIONS } from './ajv-options.js';
import { closedSchema } from './closed-schema.js';
import { COMMON_SINK_KEYS } from './schema.js';
import { schemaIssues } from './schema-issues.js';
import { validateWithTypedValues, type Validator } from './typed-values.js';
import * as generated from './validators.generated.js';
import type { YamlSource } from './yaml-document.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type SinkRegistry = ReadonlyMap<string, SinkDefinition<any>>;

const sinkValidators = new WeakMap<SinkDefinition<unknown>, Validator>();
/** Required on the first plugin (ajv is CommonJS, so synchronously): built-in sinks alone never pay for it. */
let ajv: Ajv | undefined;
const require = createRequire(import.meta.url);

/** A built-in sink's validator was generated at build; a plugin's schema is compiled here. */
function sinkValidator(definition: SinkDefinition<unknown>): Validator {
  let validate = sinkValidators.get(definition);
  if (!validate) {
    const built = isBuiltinSink(definition) ? (generated as unknown as Record<string, ((data: unknown) => boolean) | undefined>)[`sink_${definition.type}`] : undefined;
    // With the generated copy of its schema: reading `configSchema` may load TypeBox (file sink).
    if (built) validate = Object.assign(built, { schema: (generated.sinkSchemas as Record<string, AnySchema>)[definition.type]! });
    else {
      ajv ??= new (require('ajv') as typeof import('ajv')).Ajv(AJV_OPTIONS);
      validate = ajv.compile(closedSchema(definition.configSchema) as AnySchema);
    }
    sinkValidators.set(definition, validate);
  }
  return validate;
}

const isMap = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A sink's own options: its map less the keys every sink shares. */
export function optionsOf(raw: Record<string, unknown>): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!(COMMON_SINK_KEYS as readonly string[]).includes(key)) options[key] = value;
  }
  return options;
}

/** What the sink-options layer needs besides the registry. */
export interface SinkCheckContext {
  /** Interpolated strings that read as a number or boolean, for fields whose schema wants one. */
  typed: TypedCandidates;
  /** Every sink type there is, when the registry holds only the built-ins in use (lazy loading). */
  knownTypes?: readonly string[] | undefined;
  /** Types whose plugin failed to load (reported at its file): not "unknown" on top of that. */
  failedTypes?: readonly string[] | undefined;
}

/** Every sink type there is: the registry's and the `knownTypes` not loaded, sorted. */
export function knownSinkTypes(registry: SinkRegistry, knownTypes: readonly string[] = []): string[] {
  return [...new Set([...registry.keys(), ...knownTypes])].sort();
}

/**
 * The sink-options layer for one enabled sink: its type is known, its options pass the
 * type's schema, then its `check()`. Defaults of the schema are filled into `options`.
 */
export function checkSinkOptions(
  source: YamlSource,
  name: string,
  type: string,
  options: Record<string, unknown>,
  registry: SinkRegistry,
  { typed, knownTypes, failedTypes = [] }: SinkCheckContext,
): SinkDefinition<unknown> | undefined {
  const base: KeyPath = ['sinks', name];
  const definition = registry.get(type);
  if (!definition && failedTypes.includes(type)) return undefined;
  if (!definition) {
    const known = knownSinkTypes(registry, knownTypes);
    source.report('RELAY_ERR_CONFIG_UNKNOWN_SINK_TYPE', [...base, 'type'], [type, known.join(', '), didYouMean(type, known)]);
    return undefined;
  }
  let validate: Validator;
  try {
    validate = sinkValidator(definition);
  } catch (err) {
    // A plugin's configSchema ajv cannot compile: the plugin is at fault, not the config.
    const args = [type, name, (err as Error).message];
    const file = pluginFileOf(definition);
    if (!file) source.report('RELAY_ERR_PLUGIN_SCHEMA_INVALID', [...base, 'type'], args);
    else source.issues.push({ code: 'RELAY_ERR_PLUGIN_SCHEMA_INVALID', file, line: 1, column: 1, path: '(plugin)', message: issueMessage('RELAY_ERR_PLUGIN_SCHEMA_INVALID', args) });
    return definition;
  }
  if (!validateWithTypedValues(validate, options, typed, pointerOf(base))) {
    source.issues.push(...schemaIssues(source, validate.errors ?? [], base, 'RELAY_ERR_CONFIG_SINK_OPTIONS'));
  } else {
    for (const problem of runCheck(source, definition, name, options)) {
      source.report('RELAY_ERR_CONFIG_SINK_OPTIONS', [...base, ...problem.path], [problem.message]);
    }
  }
  return definition;
}

/**
 * A plugin's own `check()`; one that throws is reported at the sink's `type` line, naming
 * where check is written in the plugin, and every other problem is still reported.
 */
function runCheck(source: YamlSource, definition: SinkDefinition<unknown>, name: string, options: Record<string, unknown>): readonly OptionProblem[] {
  try {
    return definition.check?.(options) ?? [];
  } catch (err) {
    const file = pluginFileOf(definition) ?? `the built-in sink "${definition.type}"`;
    const path = pluginPathOf(definition);
    const at = path === undefined ? undefined : findInSource(path, /\b(check)\s*[:(]/);
    const where = at ? `${file}:${at.line}:${at.column}` : file;
    source.report('RELAY_ERR_PLUGIN_CHECK_THREW', ['sinks', name, 'type'], [definition.type, where, name, describeError(err)]);
    return [];
  }
}

/** The references layer for one route: every sink in `to` and source in `match.source` exists. */
export function checkRouteReferences(
  source: YamlSource,
  route: { to?: unknown; match?: unknown },
  r: number,
  sinkNames: readonly string[],
  sourceNames: readonly string[],
): void {
  if (Array.isArray(route.to)) {
    route.to.forEach((sink: unknown, i) => {
      if (typeof sink === 'string' && !sinkNames.includes(sink)) {
        source.report('RELAY_ERR_CONFIG_UNKNOWN_SINK', ['routes', r, 'to', i], [sink, sinkNames.join(', '), didYouMean(sink, sinkNames)]);
      }
    });
  }
  const wanted = isMap(route.match) ? route.match.source : undefined;
  for (const name of wanted === undefined ? [] : [wanted].flat()) {
    if (typeof name === 'string' && !sourceNames.includes(name)) {
      source.report('RELAY_ERR_CONFIG_INVALID', ['routes', r, 'match', 'source'], [
        `unknown source "${name}" (known: ${sourceNames.join(', ')})${didYouMean(name, sourceNames)}`,
      ]);
    }
  }
}

/**
 * After the schema layer failed: the sink-options and references layers on whatever has
 * the shape they need, so that one run of `check` reports every problem, not the first layer's
 * (and the warnings about route event names, through `warn`).
 */
export function checkLaterLayers(source: YamlSource, raw: unknown, registry: SinkRegistry, context: SinkCheckContext, warn: Report): void {
  if (!isMap(raw)) return;
  const sinks = isMap(raw.sinks) ? raw.sinks : {};
  for (const [name, sink] of Object.entries(sinks)) {
    if (!isMap(sink) || typeof sink.type !== 'string' || sink.enabled === false || sink.enabled === '') continue;
    checkSinkOptions(source, name, sink.type, optionsOf(sink), registry, context);
  }
  const sourceNames = isMap(raw.sources) ? Object.keys(raw.sources) : [];
  if (Array.isArray(raw.routes)) {
    raw.routes.forEach((route: unknown, r) => {
      if (!isMap(route)) return;
      checkRouteReferences(source, route, r, Object.keys(sinks), sourceNames);
      if (isMap(route.match)) warnAboutEventNames(route.match, ['routes', r, 'match'], warn);
    });
  }
}
