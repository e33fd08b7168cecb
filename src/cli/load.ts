import { loadConfigFile, pluginsDirOf, type SinkRegistry } from '../config/load.js';
import type { RelayConfig } from '../config/types.js';
import { loadPlugins } from '../plugins/load-plugins.js';
import { builtinSinks } from '../sinks/registry.js';

export const DEFAULT_CONFIG = 'relay.config.yaml';

/**
 * Loads a config with the built-in sinks and the plugins of its plugins folder.
 * `serving: false` for commands that verify no webhook: ingress secrets may be unset.
 */
export async function loadConfig(file: string, { serving = true } = {}): Promise<{ config: RelayConfig; registry: SinkRegistry }> {
  const registry = await loadPlugins(pluginsDirOf(file), builtinSinks());
  return { config: loadConfigFile(file, { registry, serving }), registry };
}
