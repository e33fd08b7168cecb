import { RelayError } from '../errors.js';

/**
 * How deep a webhook body may nest. The captured and documented Firecrawl bodies nest 6 levels
 * (an extract's data follows the user's schema, hence the room); past a few
 * thousand, recursive code downstream (JSON.stringify in the file and stdout sinks, templates,
 * plugins) overflows the stack, after the event was acknowledged.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Throws RELAY_ERR_INGRESS_BODY_TOO_DEEP when a parsed value nests objects and arrays more
 * than `limit` levels deep (a top-level object is level 1). Iterative, so the check itself
 * cannot overflow.
 */
export function assertJsonDepth(root: unknown, limit = MAX_JSON_DEPTH): void {
  if (root === null || typeof root !== 'object') return;
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
      // Only containers are walked: a page's long strings cost nothing.
      for (const key in container) {
        const child = container[key];
        if (child !== null && typeof child === 'object') stack.push(child, depth + 1);
      }
    }
  }
}
