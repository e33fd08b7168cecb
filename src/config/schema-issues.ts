import type { ErrorObject } from 'ajv';
import type { ErrorCode } from '../errors.js';
import { closest } from './did-you-mean.js';
import { COMMON_SINK_KEYS } from './schema.js';
import type { ConfigIssue, KeyPath } from './config-error.js';
import type { YamlSource } from './yaml-document.js';
import { isSecretBearing } from './secret-keys.js';

/**
 * Keys a sink's schema still accepts only to say where they moved (release 0.1's
 * `max_concurrency`, now `max_in_flight`): never offered as known.
 */
const MOVED_SINK_KEYS: readonly string[] = ['max_concurrency'];

/** JSON pointer `/routes/2/to` → ['routes', 2, 'to'] */
function pointerToPath(pointer: string): KeyPath {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

/** What a value was; under a secret-bearing key its kind and size, never any of it. */
function describe(value: unknown, path: KeyPath): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return 'a map';
  const hidden = isSecretBearing(path, value) ? ' (not shown: the key may hold a secret)' : undefined;
  if (typeof value === 'string') {
    return hidden ? `a string of ${value.length} characters${hidden}` : JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  }
  return hidden ? `a ${typeof value}${hidden}` : `${typeof value} ${String(value)}`;
}

const article = (type: string): string =>
  ({ object: 'a map', array: 'a list', integer: 'an integer', string: 'a string', number: 'a number', boolean: 'true or false' })[
    type
  ] ?? type;

/**
 * Turns ajv's errors into issues that say what was expected, what was found and where.
 * `base` prefixes paths when the schema checked only part of the file (a sink's options).
 */
export function schemaIssues(
  source: YamlSource,
  errors: readonly ErrorObject[],
  base: KeyPath = [],
  code: ErrorCode = 'RELAY_ERR_CONFIG_SCHEMA',
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const err of errors) {
    // if/then/else reports the branch error itself; the "if" line only repeats it.
    if (err.keyword === 'if') continue;
    const path = [...base, ...pointerToPath(err.instancePath)];
    let at: KeyPath = path;
    let key = false;
    let message: string;
    const params = err.params as Record<string, unknown>;
    switch (err.keyword) {
      case 'additionalProperties': {
        const extra = String(params.additionalProperty);
        const known = Object.keys((err.parentSchema?.properties as object | undefined) ?? {}).filter((k) => !MOVED_SINK_KEYS.includes(k));
        at = [...path, extra];
        key = true;
        // A sink's own keys sit beside those every sink has (max_in_flight…): a typo of one
        // of those lands in the sink's options, so it is suggested from both, and when the
        // guess is one every sink has, those are listed too.
        const shared = code === 'RELAY_ERR_CONFIG_SINK_OPTIONS' && err.instancePath === '' ? COMMON_SINK_KEYS.filter((k) => k !== 'type') : [];
        const guess = closest(extra, [...known, ...shared]);
        const listed = [known.length ? `known: ${known.join(', ')}` : '', guess !== undefined && !known.includes(guess) ? `every sink also takes: ${shared.join(', ')}` : ''];
        const list = listed.filter(Boolean).join('; ');
        message = `unknown key "${extra}"${list ? ` (${list})` : ''}${guess === undefined ? '' : `: did you mean "${guess}"?`}`;
        break;
      }
      case 'required':
        message = `missing required key "${String(params.missingProperty)}"`;
        break;
      case 'type': {
        const types = String(params.type).split(',').map(article).join(' or ');
        message = `expected ${types}, got ${describe(err.data, path)}`;
        break;
      }
      case 'enum':
        message = `expected one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${describe(err.data, path)}`;
        break;
      case 'pattern':
        message = `expected a string matching ${String(params.pattern)}, got ${describe(err.data, path)}`;
        break;
      case 'propertyNames':
        at = [...path, String(params.propertyName)];
        key = true;
        message = `expected a name of letters, digits, _ and -, got "${String(params.propertyName)}"`;
        break;
      case 'minItems':
      case 'minProperties':
        message = `expected at least ${String(params.limit)} ${err.keyword === 'minItems' ? 'item' : 'entry'}${Number(params.limit) === 1 ? '' : 's'}, got ${describe(err.data, path)}`;
        break;
      default:
        message = `expected a value that ${err.message ?? 'is valid'}, got ${describe(err.data, path)}`;
    }
    // propertyNames reports once for the name and once for its pattern: keep one.
    const id = `${at.join('.')}|${message}`;
    if (err.propertyName !== undefined && err.keyword !== 'propertyNames') continue;
    if (seen.has(id)) continue;
    seen.add(id);
    const issue = source.issue(code, at, [message], { key });
    issues.push(issue);
  }
  return issues;
}
