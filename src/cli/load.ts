import { loadConfigFile } from '../config/load.js';
import type { RelayConfig } from '../config/types.js';
import { builtinSinks } from '../sinks/registry.js';

export const DEFAULT_CONFIG = 'relay.config.yaml';

/** Loads a config with every sink type this relay knows. */
export function loadConfig(file: string): RelayConfig {
  return loadConfigFile(file, { registry: builtinSinks() });
}
