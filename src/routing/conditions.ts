import { isDeepStrictEqual } from 'node:util';
import type { Condition } from '../config/types.js';
import { globToRegExp } from './glob.js';

type Segment = { key: string } | { index: number } | { any: true };

/** `data[*].metadata.statusCode` → segments; undefined when the path is not of that form. */
export function parseFieldPath(field: string): Segment[] | undefined {
  const segments: Segment[] = [];
  const token = /\.?([A-Za-z0-9_$@-]+)|\[(\*|\d+)\]/gy;
  let match: RegExpExecArray | null;
  let consumed = 0;
  while ((match = token.exec(field)) !== null) {
    if (match.index !== consumed || (match[0].startsWith('.') && consumed === 0)) return undefined;
    consumed = token.lastIndex;
    if (match[1] !== undefined) segments.push({ key: match[1] });
    else if (match[2] === '*') segments.push({ any: true });
    else segments.push({ index: Number(match[2]) });
  }
  return consumed === field.length && segments.length > 0 ? segments : undefined;
}

/** Every value the path reaches; `[*]` fans out over an array (an object stands for itself). */
function collect(value: unknown, segments: readonly Segment[], from: number, out: unknown[]): void {
  if (value === undefined) return;
  if (from === segments.length) {
    out.push(value);
    return;
  }
  const segment = segments[from]!;
  if ('any' in segment) {
    if (Array.isArray(value)) for (const item of value) collect(item, segments, from + 1, out);
    else if (typeof value === 'object' && value !== null) collect(value, segments, from + 1, out);
  } else if ('index' in segment) {
    if (Array.isArray(value)) collect(value[segment.index], segments, from + 1, out);
  } else if (typeof value === 'object' && value !== null && Object.hasOwn(value, segment.key)) {
    collect((value as Record<string, unknown>)[segment.key], segments, from + 1, out);
  }
}

/** Every value `field` reaches in `payload` (none when the path is malformed). */
export function fieldValues(payload: unknown, field: string): unknown[] {
  const segments = parseFieldPath(field);
  const out: unknown[] = [];
  if (segments) collect(payload, segments, 0, out);
  return out;
}

const OPERATORS = ['equals', 'not_equals', 'one_of', 'not_one_of', 'exists', 'glob', 'gt', 'gte', 'lt', 'lte'] as const;

const COMPARE = {
  gt: (a: number, b: number) => a > b,
  gte: (a: number, b: number) => a >= b,
  lt: (a: number, b: number) => a < b,
  lte: (a: number, b: number) => a <= b,
};

export type Predicate = (payload: unknown) => boolean;

/**
 * Compiles one `where` condition. A condition holds when any value the field reaches
 * satisfies it; `not_equals` and `not_one_of` are the plain negations of `equals` and `one_of`.
 * Returns an error message instead when the condition is malformed.
 */
export function compileCondition(condition: Condition): Predicate | string {
  const segments = parseFieldPath(condition.field);
  if (!segments) {
    return `expected a field path such as "data[*].metadata.statusCode", got "${condition.field}"`;
  }
  const given = OPERATORS.filter((op) => condition[op] !== undefined);
  if (given.length !== 1) {
    return `expected exactly one operator of ${OPERATORS.join(', ')}, got ${given.length === 0 ? 'none' : given.join(', ')}`;
  }
  const values = (payload: unknown): unknown[] => {
    const out: unknown[] = [];
    collect(payload, segments, 0, out);
    return out;
  };
  const op = given[0]!;
  switch (op) {
    case 'exists': {
      const wanted = condition.exists === true;
      return (payload) => values(payload).length > 0 === wanted;
    }
    case 'equals':
    case 'not_equals': {
      const expected = condition[op];
      const negate = op === 'not_equals';
      return (payload) => values(payload).some((v) => isDeepStrictEqual(v, expected)) !== negate;
    }
    case 'one_of':
    case 'not_one_of': {
      const options = condition[op] ?? [];
      const negate = op === 'not_one_of';
      return (payload) =>
        values(payload).some((v) => options.some((o) => isDeepStrictEqual(v, o))) !== negate;
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const bound = condition[op]!;
      const compare = COMPARE[op];
      return (payload) => values(payload).some((v) => typeof v === 'number' && compare(v, bound));
    }
    case 'glob': {
      const pattern = globToRegExp(condition.glob ?? '');
      return (payload) => values(payload).some((v) => typeof v === 'string' && pattern.test(v));
    }
  }
}
