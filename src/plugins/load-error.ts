import { spawnSync } from 'node:child_process';

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

/** A load error as the line and column to show and a message that keeps the cause. */
export function describeLoadFailure(file: string, err: unknown): LoadFailure {
  const text = err instanceof Error ? err.message : String(err);
  const esbuild = ESBUILD_LOCATION.exec(text);
  // esbuild counts columns from 0.
  if (esbuild) return { line: Number(esbuild[1]), column: Number(esbuild[2]) + 1, message: `syntax error: ${esbuild[3]}` };
  if (err instanceof SyntaxError) {
    const at = syntaxErrorAt(file);
    if (at) return { ...at, message: `syntax error: ${text}` };
  }
  return { line: 1, column: 1, message: text.split('\n')[0] ?? text };
}
