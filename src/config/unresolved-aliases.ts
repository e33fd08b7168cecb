import { visit, type Document, type LineCounter } from 'yaml';

/**
 * Where the document uses an alias (`*name`) with no anchor before it. yaml reports it
 * only when the value is built, with the alias's text (which may be a secret written
 * unquoted): found here first, it is reported by position alone.
 */
export function unresolvedAliases(doc: Document, lines: LineCounter): { line: number; column: number }[] {
  const found: { line: number; column: number }[] = [];
  visit(doc, {
    Alias(_key, node) {
      if (node.resolve(doc) !== undefined) return;
      const { line, col } = lines.linePos(node.range?.[0] ?? 0);
      found.push({ line, column: col });
    },
  });
  return found;
}
