import type { Condition, RouteConfig } from '../config/types.js';
import type { FirecrawlPayload } from '../plugin-api/types.js';
import { compileCondition, fieldValues } from './conditions.js';
import { globToRegExp } from './glob.js';

/** One condition of a route, checked against one event. */
export interface CheckExplanation {
  /** What was required, as written in the config (`type: crawl.*`, `where[0]: data[*].metadata.statusCode gte 400`). */
  condition: string;
  passed: boolean;
  /** The values the event had there (at most 5, strings cut at 200 characters). */
  got: unknown[];
}

export interface RouteExplanation {
  route: string;
  to: string[];
  matched: boolean;
  checks: CheckExplanation[];
}

const asList = (value: string | string[] | undefined): string[] | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? value : [value];

/** Shown values stay small: a page's markdown is not an explanation. */
function shown(values: readonly unknown[]): unknown[] {
  return values.slice(0, 5).map((v) => (typeof v === 'string' && v.length > 200 ? `${v.slice(0, 200)}…` : typeof v === 'object' && v !== null ? '[object]' : v));
}

function describeCondition(c: Condition): string {
  const op = (['equals', 'not_equals', 'one_of', 'not_one_of', 'exists', 'glob', 'gt', 'gte', 'lt', 'lte'] as const).find((k) => c[k] !== undefined);
  return op ? `${c.field} ${op} ${JSON.stringify(c[op])}` : c.field;
}

/**
 * Every route with whether this event matches it and, condition by condition, what was
 * required and what the event had. Computed against the routes given (those in force now),
 * with the router's own condition code, so it never disagrees with routing.
 */
export function explainRouting(routes: readonly RouteConfig[], payload: FirecrawlPayload, source: string): RouteExplanation[] {
  return routes.map((route) => {
    const checks: CheckExplanation[] = [];
    const { match } = route;
    const sources = asList(match.source);
    if (sources) checks.push({ condition: `source one of ${JSON.stringify(sources)}`, passed: sources.includes(source), got: [source] });
    const types = asList(match.type);
    if (types) {
      checks.push({ condition: `type ${types.join(' | ')}`, passed: types.some((glob) => globToRegExp(glob).test(payload.type)), got: [payload.type] });
    }
    if (match.events) {
      checks.push({
        condition: `events ${match.events.join(' | ')}`,
        passed: match.events.some((word) => payload.type.endsWith(`.${word}`)),
        got: [payload.type],
      });
    }
    if (match.success !== undefined) {
      checks.push({ condition: `success ${String(match.success)}`, passed: payload.success === match.success, got: [payload.success] });
    }
    (match.where ?? []).forEach((condition, i) => {
      const predicate = compileCondition(condition);
      checks.push({
        condition: `where[${i}]: ${describeCondition(condition)}`,
        passed: typeof predicate === 'function' && predicate(payload),
        got: shown(fieldValues(payload, condition.field)),
      });
    });
    return { route: route.name, to: [...route.to], matched: checks.every((c) => c.passed), checks };
  });
}
