import { Scalar, isMap, isPair, isScalar, isSeq, parse } from 'yaml';
import type { KeyPath } from './config-error.js';
import { formatKeyPath } from './config-error.js';
import type { YamlSource } from './yaml-document.js';

// $${…} is a literal "${…}"; ${NAME}, ${NAME:-default} and ${NAME:+word} are references;
// a ${ with no } after it is an error (its second group is then empty).
const REFERENCE = /\$\$\{|\$\{([^}]*)(\}|$)/g;
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
 * Interpolated values kept as strings that read as a number or boolean, by JSON pointer
 * (`/server/port` → 8080). The loader uses the typed value only where the schema refuses
 * the string, so a secret `${S}` = 0x1F stays "0x1F" while `port: ${PORT}` is a number.
 */
export type TypedCandidates = Map<string, number | boolean>;

export interface Interpolated {
  uses: VariableUses;
  typed: TypedCandidates;
}

/** ['sinks', 'a/b', 0] → /sinks/a~1b/0 */
export function pointerOf(path: KeyPath): string {
  return path.map((part) => `/${String(part).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/**
 * Replaces ${VAR} and ${VAR:-default} in every string value of the document, in place.
 * Works on parsed scalars, not on raw text, so a value can never inject YAML structure.
 * Values stay strings; an unquoted value that is one whole reference and reads as a
 * number or boolean is also listed in `typed`, for fields whose schema wants that type
 * (`port: ${PORT:-8080}`). Unset variables without default are reported.
 */
export function interpolate(source: YamlSource, env: Env, unset?: UnsetAllowance): Interpolated {
  const uses: VariableUses = new Map();
  const typed: TypedCandidates = new Map();

  const visitScalar = (node: Scalar, path: KeyPath): void => {
    if (typeof node.value !== 'string' || !node.value.includes('${')) return;
    const text = node.value;
    const names: string[] = [];
    let whole = false;
    let failed = false;
    const result = text.replace(REFERENCE, (match, inner: string | undefined, closing: string | undefined, offset: number) => {
      if (inner === undefined) return '${';
      // Neither message shows the text: under a secret key the default is the secret.
      if (closing === '') {
        source.report('RELAY_ERR_CONFIG_INVALID', path, [
          'expected a `}` closing the `${` of a variable reference, got none (the text is not shown: it may hold a secret); write `$${` for a literal `${`',
        ]);
        failed = true;
        return match;
      }
      const parts = NAME_AND_DEFAULT.exec(inner);
      if (!parts) {
        source.report('RELAY_ERR_CONFIG_INVALID', path, [
          `expected a variable reference as \${NAME}, \${NAME:-default} or \${NAME:+word}, got ${referenceForm(inner)} ` +
            "(the rest is not shown: it may hold a secret; the shell's :=, :?, -, = and ? forms are not supported)",
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
    node.value = result;
    if (whole && node.type === Scalar.PLAIN) {
      const value = typedScalar(result);
      if (value !== undefined) typed.set(pointerOf(path), value);
    }
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
  return { uses, typed };
}

/** `OUT:=secret` → "${OUT:=…}": the name and operator of a reference, never its word. */
function referenceForm(inner: string): string {
  const form = /^([A-Za-z_][A-Za-z0-9_]*)(:?[-=?+])?/.exec(inner);
  if (!form) return 'a reference that does not start with a variable name';
  const [head, name = '', operator] = form;
  return `\${${name}${operator ?? ''}${inner.length > head.length || operator ? '…' : ''}}`;
}

/** "8080" → 8080, "true" → true; undefined for text that reads as neither. */
function typedScalar(text: string): number | boolean | undefined {
  try {
    // 'error': yaml would print a warning quoting the text ("%…" directive, "!…" tag), which may be a secret.
    const value: unknown = parse(text, { logLevel: 'error' });
    return typeof value === 'number' || typeof value === 'boolean' ? value : undefined;
  } catch {
    return undefined;
  }
}
