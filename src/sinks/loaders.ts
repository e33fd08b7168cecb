import type { SinkRegistry } from '../config/load.js';
import type { SinkDefinition } from '../plugin-api/types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loader = () => Promise<{ default: SinkDefinition<any> }>;

/**
 * The built-in sinks, each loaded only when a config uses its type: the AWS SDK and
 * kafkajs alone cost most of a second of CPU, which `--help` or a file-only config
 * should not pay.
 */
const LOADERS: Record<string, Loader> = {
  file: () => import('./file/index.js'),
  kafka: () => import('./kafka/index.js'),
  s3: () => import('./s3/index.js'),
  slack: () => import('./slack/index.js'),
  stdout: () => import('./stdout/index.js'),
  webhook: () => import('./webhook/index.js'),
};

export const BUILTIN_SINK_TYPES: readonly string[] = Object.keys(LOADERS);

/** The built-in sinks among `types` (other names are left for plugins or a config error). */
export async function loadBuiltinSinks(types: Iterable<string>): Promise<SinkRegistry> {
  const wanted = [...new Set(types)].filter((type) => Object.hasOwn(LOADERS, type));
  const modules = await Promise.all(wanted.map((type) => LOADERS[type]!()));
  for (const module of modules) builtins.add(module.default);
  return new Map(modules.map((module) => [module.default.type, module.default]));
}

const builtins = new WeakSet<SinkDefinition<unknown>>();

/** One of the relay's own sinks, whose options validator was generated at build (config/validators-source.ts). */
export function isBuiltinSink(definition: SinkDefinition<unknown>): boolean {
  return builtins.has(definition);
}
