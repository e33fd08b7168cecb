import { loadConfigFile, pluginsDirOf, type SinkRegistry } from '../config/load.js';
import type { RelayConfig } from '../config/types.js';
import { loadPlugins } from '../plugins/load-plugins.js';
import { builtinSinks } from '../sinks/registry.js';

export const DEFAULT_CONFIG = 'relay.config.yaml';

/** Loads a config with the built-in sinks and the plugins of its plugins folder. */
export async function loadConfig(file: string): Promise<{ config: RelayConfig; registry: SinkRegistry }> {
  const registry = await loadPlugins(pluginsDirOf(file), builtinSinks());
  return { config: loadConfigFile(file, { registry }), registry };
}
