import type { ValidateFunction } from 'ajv';

/** What is needed of a validator: ajv's compiled ones and the generated ones (validators.generated.ts) alike. */
export type Validator = ((data: unknown) => boolean) & Pick<ValidateFunction, 'schema' | 'errors'>;
import type { TypedCandidates } from './interpolate.js';
import { acceptsAnyType } from './untyped-places.js';

/** Sets the value at JSON pointer `pointer` inside `data`; false when the place does not exist. */
function setAt(data: unknown, pointer: string, value: unknown): boolean {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = parts.pop();
  if (last === undefined) return false;
  let node = data;
  for (const part of parts) {
    if (typeof node !== 'object' || node === null) return false;
    node = (node as Record<string, unknown>)[part];
  }
  if (typeof node !== 'object' || node === null || !Object.hasOwn(node, last)) return false;
  (node as Record<string, unknown>)[last] = value;
  return true;
}

/**
 * Validates `data`. Where the schema refuses an interpolated string that reads as a number
 * or boolean (`port: ${PORT}`, `enabled: ${X:+true}`), the typed value takes its place and
 * `data` is validated again; a string field keeps the string (a secret `${S}` = 123456).
 * A place the schema takes of any type (no `type`) gets the typed value up front.
 * `base` is the pointer of `data` in the whole file, when only part of it is checked.
 */
export function validateWithTypedValues(validate: Validator, data: unknown, typed: TypedCandidates, base = ''): boolean {
  // Where the schema takes any type, the YAML type is the one meant (a route's `equals`).
  for (const [pointer, value] of typed) {
    if (!pointer.startsWith(`${base}/`)) continue;
    const inner = pointer.slice(base.length);
    if (typeof validate.schema === 'object' && acceptsAnyType(validate.schema, inner) && setAt(data, inner, value)) typed.delete(pointer);
  }
  for (;;) {
    if (validate(data)) return true;
    let changed = false;
    for (const error of validate.errors ?? []) {
      const value = typed.get(base + error.instancePath);
      if (value === undefined) continue;
      typed.delete(base + error.instancePath);
      changed = setAt(data, error.instancePath, value) || changed;
    }
    if (!changed) return false;
  }
}
