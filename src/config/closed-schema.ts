type Schema = Record<string, unknown>;

const isMap = (value: unknown): value is Schema => typeof value === 'object' && value !== null && !Array.isArray(value);

// Where another keyword decides which keys are allowed, `additionalProperties: false` would
// refuse keys that keyword allows: such objects are left as written.
const DECIDES_KEYS = ['additionalProperties', 'patternProperties', 'unevaluatedProperties', 'allOf', 'anyOf', 'oneOf', '$ref', 'if'];

/**
 * A copy of a plugin's `configSchema` in which every object with `properties` refuses
 * unknown keys unless it says otherwise (`additionalProperties: true`): as docs/plugins.md
 * promises, a misspelled option is an error with a did-you-mean, not silently ignored.
 * The plugin's own schema is not changed.
 */
export function closedSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closedSchema);
  if (!isMap(schema)) return schema;
  const copy: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    // Constant values and defaults are data, not schemas: copied as they are.
    copy[key] = key === 'const' || key === 'default' || key === 'enum' || key === 'examples' ? value : closedSchema(value);
  }
  if (isMap(schema.properties) && !DECIDES_KEYS.some((k) => k in schema)) copy.additionalProperties = false;
  return copy;
}
