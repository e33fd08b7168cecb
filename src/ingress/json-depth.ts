import { RelayError } from '../errors.js';

/**
 * How deep a webhook body may nest. The captured and documented Firecrawl bodies nest 6 levels
 * (an extract's data follows the user's schema, hence the room); past a few
 * thousand, recursive code downstream (JSON.stringify in the file and stdout sinks, templates,
 * plugins) overflows the stack, after the event was acknowledged.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Checks a parsed body in one walk of its containers (a page's long strings cost nothing):
 * throws RELAY_ERR_INGRESS_BODY_TOO_DEEP when it nests objects and arrays more than `limit`
 * levels deep (a top-level object is level 1), else RELAY_ERR_INGRESS_BODY_UNSAFE_KEY when an
 * object has a `__proto__` key, or a `constructor` key whose object has a `prototype` (keys
 * that could pollute prototypes downstream). The parsed value is walked, not the text:
 * "\u005f_proto__" is the same key once parsed. Iterative, so the check cannot overflow.
 */
export function assertSafeJson(root: unknown, limit = MAX_JSON_DEPTH): void {
  if (root === null || typeof root !== 'object') return;
  // Too deep is reported first, whatever comes first in the walk.
  let unsafe = false;
  // Containers and their depths, interleaved: one array, no allocation per container.
  const stack: unknown[] = [root, 1];
  while (stack.length > 0) {
    const depth = stack.pop() as number;
    const container = stack.pop() as Record<string, unknown>;
    if (depth > limit) throw new RelayError('RELAY_ERR_INGRESS_BODY_TOO_DEEP', [limit]);
    if (Array.isArray(container)) {
      for (let i = 0; i < container.length; i++) {
        const child: unknown = container[i];
        if (child !== null && typeof child === 'object') stack.push(child, depth + 1);
      }
    } else {
      for (const key in container) {
        const child = container[key];
        if (key === '__proto__') unsafe = true;
        if (child !== null && typeof child === 'object') {
          if (key === 'constructor' && Object.hasOwn(child, 'prototype')) unsafe = true;
          stack.push(child, depth + 1);
        }
      }
    }
  }
  if (unsafe) throw new RelayError('RELAY_ERR_INGRESS_BODY_UNSAFE_KEY');
}
