import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Where a plugin failed to load, and why, in one line. */
export interface LoadFailure {
  line: number;
  column: number;
  message: string;
}

// esbuild (TypeScript plugins): "Transform failed with 1 error:\n<file>:3:12: ERROR: Expected …"
const ESBUILD_LOCATION = /^.*?:(\d+):(\d+): ERROR: (.*)$/m;

/**
 * A JavaScript syntax error carries no position in its message: `node --check` prints
 * `<file>:<line>`, the line, and a caret under the column.
 */
function syntaxErrorAt(file: string): { line: number; column: number } | undefined {
  const { stderr } = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10_000 });
  const [where = '', , caret = ''] = String(stderr).split('\n');
  const line = /:(\d+)$/.exec(where)?.[1];
  return line ? { line: Number(line), column: Math.max(1, caret.indexOf('^') + 1) } : undefined;
}

// An ES module link error: "The requested module 'x' does not provide an export named 'y'".
const MISSING_EXPORT = /requested module '([^']+)' does not provide an export named '([^']+)'/;

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A link error's stack points into Node's loader, not the plugin: the position is that of
 * the name in the import from that module (else its first mention), found in the source.
 */
export function missingExportAt(file: string, specifier: string, name: string): { line: number; column: number } | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const from = new RegExp(`import\\s*(?:[\\w$]+\\s*,\\s*)?\\{([^}]*)\\}\\s*from\\s*['"]${escape(specifier)}['"]`, 'g');
  const word = new RegExp(`(?<![\\w$])${escape(name)}(?![\\w$])`);
  let offset: number | undefined;
  for (const statement of text.matchAll(from)) {
    const inBraces = word.exec(statement[1]!);
    if (inBraces) {
      offset = statement.index + statement[0].indexOf('{') + 1 + inBraces.index;
      break;
    }
  }
  offset ??= word.exec(text)?.index;
  if (offset === undefined) return undefined;
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

/** A load error as the line and column to show and a message that keeps the cause. */
export function describeLoadFailure(file: string, err: unknown): LoadFailure {
  const text = err instanceof Error ? err.message : String(err);
  const esbuild = ESBUILD_LOCATION.exec(text);
  // esbuild counts columns from 0.
  if (esbuild) return { line: Number(esbuild[1]), column: Number(esbuild[2]) + 1, message: `syntax error: ${esbuild[3]}` };
  const missing = MISSING_EXPORT.exec(text);
  if (missing) {
    const at = missingExportAt(file, missing[1]!, missing[2]!);
    if (at) return { ...at, message: text.split('\n')[0] ?? text };
  }
  if (err instanceof SyntaxError) {
    const at = syntaxErrorAt(file);
    if (at) return { ...at, message: `syntax error: ${text}` };
  }
  return { ...(thrownAt(file, err) ?? { line: 1, column: 1 }), message: text.split('\n')[0] ?? text };
}

/**
 * Where in the plugin an error thrown while it loaded was thrown, from its stack, when the
 * stack names the file (JavaScript, TypeScript loaded as ESM); TypeScript loaded as CommonJS
 * runs from a data: URL without source map, and stays at 1:1.
 */
function thrownAt(file: string, err: unknown): { line: number; column: number } | undefined {
  const stack = err instanceof Error ? (err.stack ?? '') : '';
  const at = new RegExp(`(?:file://)?${escape(file)}(?:\\?[^:\\s)]*)?:(\\d+):(\\d+)`).exec(stack);
  return at ? { line: Number(at[1]), column: Number(at[2]) } : undefined;
}
