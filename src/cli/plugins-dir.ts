import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { configPreview } from '../config/load.js';

/**
 * The plugins folder of a config file, as `plugin new` and `plugin test` use it: its
 * `plugins.dir` when the file exists, else `plugins/` beside where it will be. Shown
 * relative to the working folder when inside it.
 */
export function pluginsDirOf(configFile: string): string {
  const dir = existsSync(configFile) ? configPreview(configFile).pluginsDir : join(dirname(resolve(configFile)), 'plugins');
  const shown = relative(process.cwd(), dir);
  return shown && !shown.startsWith('..') ? shown : dir;
}
