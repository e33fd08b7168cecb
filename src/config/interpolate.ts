import { Scalar, isMap, isPair, isScalar, isSeq, parse } from 'yaml';
import type { KeyPath } from './config-error.js';
import { formatKeyPath } from './config-error.js';
import type { YamlSource } from './yaml-document.js';

// $${…} is a literal "${…}"; ${NAME}, ${NAME:-default} and ${NAME:+word} are references.
const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;
const NAME_AND_DEFAULT = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\+)(.*))?$/s;

export type Env = Readonly<Record<string, string | undefined>>;

/** Where each variable was used, so "set VAR" advice can name it. */
export type VariableUses = Map<string, string[]>;

/** Unset variables tolerated as empty, by where they are used (the path). */
export interface UnsetAllowance {
  allowed(path: KeyPath): boolean;
  /** Filled with each tolerated variable's name and path. */
  readonly tolerated: Array<{ name: string; path: KeyPath }>;
}

/**
 * Replaces ${VAR} and ${VAR:-default} in every string value of the document, in place.
 * Works on parsed scalars, not on raw text, so a value can never inject YAML structure.
 * An unquoted value that is one whole reference takes the type its text reads as
 * (`port: ${PORT:-8080}` is a number). Unset variables without default are reported.
 */
export function interpolate(source: YamlSource, env: Env, unset?: UnsetAllowance): VariableUses {
  const uses: VariableUses = new Map();

  const visitScalar = (node: Scalar, path: KeyPath): void => {
    if (typeof node.value !== 'string' || !node.value.includes('${')) return;
    const text = node.value;
    const names: string[] = [];
    let whole = false;
    let failed = false;
    const result = text.replace(REFERENCE, (match, inner: string | undefined, offset: number) => {
      if (inner === undefined) return '${';
      const parts = NAME_AND_DEFAULT.exec(inner);
      if (!parts) {
        source.report('RELAY_ERR_CONFIG_INVALID', path, [
          `expected a variable reference as \${NAME}, \${NAME:-default} or \${NAME:+word}, got "${match}"`,
        ]);
        failed = true;
        return match;
      }
      const [, name = '', operator, word] = parts;
      names.push(name);
      whole = offset === 0 && match.length === text.length;
      const value = env[name];
      // ${NAME:+word}: word when NAME is set and not empty, else nothing (as in a shell).
      if (operator === ':+') return value ? (word ?? '') : '';
      const fallback = word;
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      if (value === '') return '';
      if (unset?.allowed(path)) {
        unset.tolerated.push({ name, path });
        return '';
      }
      source.report('RELAY_ERR_CONFIG_ENV_UNSET', path, [name, name]);
      failed = true;
      return match;
    });
    if (names.length > 0) uses.set(formatKeyPath(path), names);
    if (failed) return;
    node.value = whole && node.type === Scalar.PLAIN ? typedScalar(result) : result;
  };

  const visit = (node: unknown, path: KeyPath): void => {
    if (isScalar(node)) visitScalar(node, path);
    else if (isMap(node)) {
      for (const pair of node.items) {
        if (isPair(pair) && isScalar(pair.key)) visit(pair.value, [...path, String(pair.key.value)]);
      }
    } else if (isSeq(node)) node.items.forEach((item, index) => visit(item, [...path, index]));
  };

  visit(source.doc.contents, []);
  return uses;
}

/** "8080" → 8080, "true" → true; anything else stays the string it is. */
function typedScalar(text: string): unknown {
  try {
    const value: unknown = parse(text);
    return typeof value === 'number' || typeof value === 'boolean' ? value : text;
  } catch {
    return text;
  }
}
