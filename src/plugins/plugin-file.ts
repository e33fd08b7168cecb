import type { SinkDefinition } from '../plugin-api/types.js';

/** The file each loaded plugin came from: as shown in issues (`label`), and its absolute `path`. */
const files = new WeakMap<SinkDefinition<unknown>, { label: string; path: string }>();

export function recordPluginFile(definition: SinkDefinition<unknown>, label: string, path: string): void {
  files.set(definition, { label, path });
}

/** The file a plugin was loaded from, as shown in issues, or undefined for a built-in sink. */
export function pluginFileOf(definition: SinkDefinition<unknown>): string | undefined {
  return files.get(definition)?.label;
}

/** The absolute path of a plugin's file, for reading its source; undefined for a built-in sink. */
export function pluginPathOf(definition: SinkDefinition<unknown>): string | undefined {
  return files.get(definition)?.path;
}
