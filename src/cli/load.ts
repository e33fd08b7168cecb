import { ConfigError } from '../config/config-error.js';
import { configPreview, loadConfigFile, type SinkRegistry } from '../config/load.js';
import type { RelayConfig } from '../config/types.js';
import { collectPlugins } from '../plugins/load-plugins.js';
import { BUILTIN_SINK_TYPES, loadBuiltinSinks } from '../sinks/loaders.js';

/**
 * Loads a config with the built-in sinks it uses and the plugins of its plugins folder.
 * `serving: false` for commands that verify no webhook: ingress secrets may be unset.
 * A plugin that fails to load does not stop the validation: its issues and the config's
 * are thrown together, in one ConfigError. `ignoredPluginFiles`: helpers passed over.
 */
export async function loadConfig(
  file: string,
  { serving = true } = {},
): Promise<{ config: RelayConfig; registry: SinkRegistry; ignoredPluginFiles: string[] }> {
  const { pluginsDir, sinkTypes } = configPreview(file);
  const plugins = await collectPlugins(pluginsDir, await loadBuiltinSinks(sinkTypes));
  const { registry, issues, failedTypes } = plugins;
  const knownTypes = [...new Set([...BUILTIN_SINK_TYPES, ...registry.keys()])];
  let config: RelayConfig;
  try {
    config = loadConfigFile(file, { registry, knownTypes, failedTypes, serving });
  } catch (err) {
    if (err instanceof ConfigError && issues.length > 0) throw new ConfigError([...issues, ...err.issues], err.warnings);
    throw err;
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { config, registry, ignoredPluginFiles: plugins.ignored };
}
