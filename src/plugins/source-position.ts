import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** A 1-based line and column in a plugin's source. */
export interface SourcePosition {
  line: number;
  column: number;
}

/** The line and column of `offset` in `text`. */
export function positionAt(text: string, offset: number): SourcePosition {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

/**
 * Where `pattern` first matches in a plugin's source (at its group 1 when it has one), or
 * undefined. The relay runs TypeScript plugins without source maps, so a stack cannot say
 * where in the file a runtime error is: the place a name is written can.
 */
export function findInSource(file: string, pattern: RegExp): SourcePosition | undefined {
  let text: string;
  try {
    text = readFileSync(resolve(file), 'utf8');
  } catch {
    return undefined;
  }
  const match = pattern.exec(text);
  if (!match) return undefined;
  const offset = match.index + (match[1] === undefined ? 0 : match[0].indexOf(match[1]));
  return positionAt(text, offset);
}
