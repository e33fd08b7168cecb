/**
 * Options declared once: a TypeBox schema is the JSON Schema the relay validates a sink's
 * options with (ajv, defaults filled in) and, through `Static`, the type `create` receives.
 * Re-exported here so a plugin anywhere on disk needs nothing but the relay's API.
 */
import { createRequire } from 'node:module';
import type * as TypeBox from '@sinclair/typebox';
import type { Static, TSchema } from '@sinclair/typebox';

export type { Static, TSchema };

type TypeBuilder = typeof TypeBox.Type;
let typeBox: TypeBuilder | undefined;

/**
 * TypeBox's `Type`, loaded on first use: TypeBox is some 150 modules (~70 ms of CPU), which
 * `check` of a config of built-in sinks (validators generated at build) need not load.
 * Its schemas carry `Symbol.for` keys, so they mix with those of a plugin's own TypeBox.
 */
export const Type: TypeBuilder = new Proxy({} as TypeBuilder, {
  get: (_, key) => Reflect.get((typeBox ??= (createRequire(import.meta.url)('@sinclair/typebox') as typeof TypeBox).Type), key),
});

/**
 * One of fixed values, as a JSON Schema `enum` (whose errors read "expected one of …"),
 * typed as the union of the values: `Enum(['event', 'summary'], { default: 'event' })`.
 */
export function Enum<const V extends readonly (string | number)[]>(values: V, options: Record<string, unknown> = {}) {
  return Type.Unsafe<V[number]>({ ...options, enum: [...values] });
}
