import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Whether Node (and so tsx) runs `file` as CommonJS: .mts/.mjs never; .ts/.js unless the
 * nearest package.json above it says "type": "module" (Node 20 has no module.findPackageJSON).
 */
export function isCommonJs(file: string): boolean {
  if (/\.m[jt]s$/.test(file)) return false;
  if (/\.c[jt]s$/.test(file)) return true;
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        return (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: unknown }).type !== 'module';
      } catch {
        return true; // Node refuses such a folder anyway; the import says why
      }
    }
    if (dirname(dir) === dir) return true;
  }
}

/**
 * What to do about a load error that comes only from the plugin running as CommonJS
 * (top-level await), or nothing: `check`, `serve` and `plugin test` say the same.
 */
export function commonJsHint(file: string, message: string): string {
  if (!/top-level await/i.test(message) || !isCommonJs(file)) return '';
  return ': the plugin runs as CommonJS (no package.json with "type": "module" above it); add package.json {"type":"module"} beside your plugins or name the file .mts';
}
