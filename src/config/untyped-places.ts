/** A JSON schema node, as far as the walk below reads it. */
interface SchemaNode {
  type?: unknown;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
}

/** The schema node that validates `parts` (keys from the root), or undefined when the walk cannot tell. */
function schemaAt(schema: SchemaNode, parts: readonly string[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = schema;
  for (const part of parts) {
    if (node === undefined) return undefined;
    if (node.properties && Object.hasOwn(node.properties, part)) node = node.properties[part];
    // A list without `items` (a route's `one_of`) takes items of any type.
    else if (/^\d+$/.test(part) && (node.items || node.type === 'array')) node = node.items ?? {};
    else if (typeof node.additionalProperties === 'object') node = node.additionalProperties;
    else return undefined;
  }
  return node;
}

/**
 * Whether the value at JSON `pointer` is one the schema takes of any type (`equals: {}`):
 * there a whole reference keeps its YAML type (`equals: ${CODE:-200}` is the number 200),
 * as a literal written there would.
 */
export function acceptsAnyType(schema: object, pointer: string): boolean {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const node = schemaAt(schema as SchemaNode, parts);
  return node !== undefined && node.type === undefined;
}
