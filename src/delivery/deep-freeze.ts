/**
 * Freezes a parsed JSON value and everything in it, without recursion (a deep payload
 * cannot overflow the stack). A frozen root is taken as frozen throughout: only this
 * function freezes payloads, so a payload handed to a second sink costs one check.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  const stack: object[] = [value];
  while (stack.length > 0) {
    const node = stack.pop()!;
    Object.freeze(node);
    for (const child of Object.values(node)) {
      if (typeof child === 'object' && child !== null && !Object.isFrozen(child)) stack.push(child);
    }
  }
  return value;
}
