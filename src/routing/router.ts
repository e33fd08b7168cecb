import type { ErrorCode } from '../errors.js';
import type { KeyPath } from '../config/config-error.js';
import type { RouteConfig } from '../config/types.js';
import type { FirecrawlPayload } from '../plugin-api/types.js';
import { didYouMean } from '../config/did-you-mean.js';
import { compileCondition } from './conditions.js';
import { FIRECRAWL_EVENT_WORDS, KNOWN_EVENT_TYPES } from './event-types.js';
import { globToRegExp, isValidTypeGlob } from './glob.js';

export type Report = (code: ErrorCode, path: KeyPath, args: readonly unknown[]) => void;

export interface RouteMatch {
  /** Names of the routes the event matched, in config order. */
  routes: string[];
  /** Each sink once, in the order routes name them. */
  sinks: string[];
}

export interface Router {
  match(payload: FirecrawlPayload, source: string): RouteMatch;
}

const asList = (value: string | string[] | undefined): string[] | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? value : [value];

/**
 * Warns about a `match.type` that matches no documented event type and a `match.events`
 * word Firecrawl does not send, with the name most likely meant (`complted` → `completed`).
 * Takes the match as written: `check` runs it on a config that failed its schema too.
 */
export function warnAboutEventNames(match: { type?: unknown; events?: unknown }, base: KeyPath, warn: Report): void {
  const typeList = Array.isArray(match.type) ? match.type : [match.type];
  typeList.forEach((glob: unknown, i) => {
    if (typeof glob !== 'string' || !isValidTypeGlob(glob)) return;
    const re = globToRegExp(glob);
    if (KNOWN_EVENT_TYPES.some((t) => re.test(t))) return;
    const path = Array.isArray(match.type) ? [...base, 'type', i] : [...base, 'type'];
    warn('RELAY_ERR_CONFIG_INVALID', path, [`"${glob}" matches no documented event type${didYouMean(glob, KNOWN_EVENT_TYPES)}`]);
  });
  (Array.isArray(match.events) ? match.events : []).forEach((word: unknown, i) => {
    if (typeof word !== 'string' || (FIRECRAWL_EVENT_WORDS as readonly string[]).includes(word)) return;
    warn('RELAY_ERR_CONFIG_INVALID', [...base, 'events', i], [
      `"${word}" is none of Firecrawl's event words (${FIRECRAWL_EVENT_WORDS.join(', ')})${didYouMean(word, FIRECRAWL_EVENT_WORDS)}`,
    ]);
  });
}

/**
 * Compiles the routes once, at load. Problems are reported through `error` (they stop
 * the load) and `warn` (a glob that matches no documented type: Firecrawl adds types).
 */
export function compileRouter(routes: readonly RouteConfig[], error: Report, warn: Report): Router {
  const compiled = routes.map((route, r) => {
    const base: KeyPath = ['routes', r, 'match'];
    const tests: Array<(payload: FirecrawlPayload) => boolean> = [];
    const { match } = route;

    warnAboutEventNames(match, base, warn);
    const types = asList(match.type);
    if (types) {
      const patterns: RegExp[] = [];
      types.forEach((glob, i) => {
        const path = Array.isArray(match.type) ? [...base, 'type', i] : [...base, 'type'];
        if (!isValidTypeGlob(glob)) return error('RELAY_ERR_CONFIG_BAD_GLOB', path, [glob]);
        patterns.push(globToRegExp(glob));
      });
      tests.push((p) => patterns.some((re) => re.test(p.type)));
    }

    if (match.events) {
      const words = match.events;
      tests.push((p) => words.some((word) => p.type.endsWith(`.${word}`)));
    }

    if (match.success !== undefined) {
      const wanted = match.success;
      tests.push((p) => p.success === wanted);
    }

    (match.where ?? []).forEach((condition, i) => {
      const predicate = compileCondition(condition);
      if (typeof predicate === 'string') {
        error('RELAY_ERR_CONFIG_BAD_CONDITION', [...base, 'where', i], [predicate]);
      } else tests.push(predicate);
    });

    const sources = asList(match.source);
    return {
      name: route.name,
      to: route.to,
      matches: (payload: FirecrawlPayload, source: string): boolean =>
        (!sources || sources.includes(source)) && tests.every((test) => test(payload)),
    };
  });

  return {
    match(payload, source) {
      const matched: string[] = [];
      const sinks = new Set<string>();
      for (const route of compiled) {
        if (!route.matches(payload, source)) continue;
        matched.push(route.name);
        for (const sink of route.to) sinks.add(sink);
      }
      return { routes: matched, sinks: [...sinks] };
    },
  };
}
