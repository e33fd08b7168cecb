import { Scalar, isMap, isPair, isScalar, isSeq, type Document } from 'yaml';
import type { KeyPath } from './config-error.js';

/**
 * Where a value has a YAML type no config field takes (`!!binary`, `!!timestamp`, `!!set`,
 * `!!omap`), and that type's tag. Such a value reaches the schema as a Buffer, Date, Set or
 * Map, whose every internal field was reported (101 errors listing a Buffer's methods).
 */
export function nonPlainValues(doc: Document): Array<{ path: KeyPath; tag: string }> {
  const found: Array<{ path: KeyPath; tag: string }> = [];
  const tagOf = (node: { tag?: string }) => `!!${(node.tag ?? '').replace(/^tag:yaml\.org,2002:/, '')}`;
  const visit = (node: unknown, path: KeyPath): void => {
    if (isScalar(node)) {
      if (typeof (node as Scalar).value === 'object' && (node as Scalar).value !== null) found.push({ path, tag: tagOf(node) });
    } else if (isMap(node)) {
      // YAMLSet and YAMLOMap are maps and sequences with their own tag.
      if (node.tag !== undefined && /:(set|omap|pairs)$/.test(node.tag)) return void found.push({ path, tag: tagOf(node) });
      for (const pair of node.items) {
        if (isPair(pair) && isScalar(pair.key)) visit(pair.value, [...path, String(pair.key.value)]);
      }
    } else if (isSeq(node)) {
      if (node.tag !== undefined && /:(set|omap|pairs)$/.test(node.tag)) return void found.push({ path, tag: tagOf(node) });
      node.items.forEach((item, index) => visit(item, [...path, index]));
    }
  };
  visit(doc.contents, []);
  return found;
}
