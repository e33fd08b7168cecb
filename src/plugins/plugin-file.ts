import type { SinkDefinition } from '../plugin-api/types.js';

/** The file each loaded plugin came from, as shown in issues: config checks name it. */
const files = new WeakMap<SinkDefinition<unknown>, string>();

export function recordPluginFile(definition: SinkDefinition<unknown>, file: string): void {
  files.set(definition, file);
}

/** The file a plugin was loaded from, or undefined for a built-in sink. */
export function pluginFileOf(definition: SinkDefinition<unknown>): string | undefined {
  return files.get(definition);
}
