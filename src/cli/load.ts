import { configPreview, loadConfigFile, type SinkRegistry } from '../config/load.js';
import type { RelayConfig } from '../config/types.js';
import { loadPlugins } from '../plugins/load-plugins.js';
import { BUILTIN_SINK_TYPES, loadBuiltinSinks } from '../sinks/loaders.js';

/**
 * Loads a config with the built-in sinks it uses and the plugins of its plugins folder.
 * `serving: false` for commands that verify no webhook: ingress secrets may be unset.
 */
export async function loadConfig(file: string, { serving = true } = {}): Promise<{ config: RelayConfig; registry: SinkRegistry }> {
  const { pluginsDir, sinkTypes } = configPreview(file);
  const registry = await loadPlugins(pluginsDir, await loadBuiltinSinks(sinkTypes));
  const knownTypes = [...new Set([...BUILTIN_SINK_TYPES, ...registry.keys()])];
  return { config: loadConfigFile(file, { registry, knownTypes, serving }), registry };
}
