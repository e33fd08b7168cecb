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
  const containers: object[] = [root];
  const depths: number[] = [1];
  while (containers.length > 0) {
    const container = containers.pop() as Record<string, unknown>;
    const depth = depths.pop()!;
    if (depth > limit) throw new RelayError('RELAY_ERR_INGRESS_BODY_TOO_DEEP', [limit]);
    const children: unknown[] = Array.isArray(container) ? container : Object.values(container);
    for (let i = 0; i < children.length; i++) {
      const child = children[i];
      // Only containers are walked: a page's long strings cost nothing.
      if (child !== null && typeof child === 'object') {
        containers.push(child);
        depths.push(depth + 1);
      }
    }
  }
}
