/**
 * Options declared once: a TypeBox schema is the JSON Schema the relay validates a sink's
 * options with (ajv, defaults filled in) and, through `Static`, the type `create` receives.
 * Re-exported here so a plugin anywhere on disk needs nothing but the relay's API.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

export { Type, type Static, type TSchema };

/**
 * One of fixed values, as a JSON Schema `enum` (whose errors read "expected one of …"),
 * typed as the union of the values: `Enum(['event', 'summary'], { default: 'event' })`.
 */
export function Enum<const V extends readonly (string | number)[]>(values: V, options: Record<string, unknown> = {}) {
  return Type.Unsafe<V[number]>({ ...options, enum: [...values] });
}
