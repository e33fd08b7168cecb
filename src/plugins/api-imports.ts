import { readFileSync } from 'node:fs';
import { didYouMean } from '../config/did-you-mean.js';
import type { LoadFailure } from './load-error.js';
import { missingExportAt } from './load-error.js';

const SPECIFIER = 'firecrawl-relay/plugin-api';
// `import { a, type B, c as d } from 'firecrawl-relay/plugin-api'` (not `import type { … }`).
const NAMED_IMPORT = /import\s+(?!type\s*\{)(?:[\w$]+\s*,\s*)?\{([^}]*)\}\s*from\s*['"]firecrawl-relay\/plugin-api['"]/g;

/**
 * The first name a plugin imports from the API that the API does not export, as ESM's link
 * error would say it, at the name's line and column. A plugin tsx loads as CommonJS (no
 * "type": "module" above it) would otherwise fail at its first call of the name, reported
 * at 1:1 as "(0 , import_plugin_api.defineSinc) is not a function".
 */
export async function missingApiImport(file: string): Promise<LoadFailure | undefined> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  if (!text.includes(SPECIFIER)) return undefined;
  const exported = Object.keys(await import('../plugin-api/index.js'));
  for (const statement of text.matchAll(NAMED_IMPORT)) {
    for (const part of statement[1]!.split(',')) {
      const name = /^\s*(?:type\s+)?([\w$]+)/.exec(part);
      if (!name || /^\s*type\s/.test(part) || exported.includes(name[1]!)) continue;
      const at = missingExportAt(file, SPECIFIER, name[1]!) ?? { line: 1, column: 1 };
      return { ...at, message: `The requested module '${SPECIFIER}' does not provide an export named '${name[1]}'${didYouMean(name[1]!, exported)}` };
    }
  }
  return undefined;
}
