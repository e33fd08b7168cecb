import type { KeyPath } from './config-error.js';

/**
 * Keys whose values are, or may hold, a credential. A config message never repeats a
 * value under one of these (at any depth): it says what kind of value it got instead.
 */
const SECRET_KEY = /secret|token|password|passphrase|credential|sasl|private|api[-_]?key|access[-_]?key|authorization|cookie|^ssl$/i;
const URL_KEY = /url|endpoint|uri/i;

/** Whether a value at `path` must not be echoed: a secret-bearing key, or a URL with credentials or a Slack hook. */
export function isSecretBearing(path: KeyPath, value?: unknown): boolean {
  if (path.some((part) => typeof part === 'string' && SECRET_KEY.test(part))) return true;
  const last = path.at(-1);
  if (typeof last !== 'string' || !URL_KEY.test(last)) return false;
  if (typeof value !== 'string') return true;
  // user:password@ in the authority, a Slack hook (its path is the credential), or a query.
  return /^[^/]*\/\/[^/]*@/.test(value) || /slack/i.test(value) || value.includes('?');
}

/** What a secret-bearing value was, without any of it. */
export function describeHidden(value: unknown): string {
  if (typeof value === 'string') return `a string of ${value.length} characters (not shown: the key may hold a secret)`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return 'a map';
  return `a ${typeof value} (not shown: the key may hold a secret)`;
}
