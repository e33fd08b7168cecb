import type { KeyPath } from './config-error.js';

/**
 * Keys whose values are, or may hold, a credential. A config message never repeats a
 * value under one of these (at any depth): it says what kind of value it got instead.
 */
export const SECRET_KEY = /secret|token|password|passphrase|credential|sasl|private|api[-_]?key|access[-_]?key|_key$|authorization|cookie|^ssl$|^headers$/i;
const URL_KEY = /url|endpoint|uri/i;
/** user:password@ anywhere (a broker address, a URL without scheme). */
const USERINFO = /[^\s/@:]*:[^\s/@]*@/;

/**
 * Whether a value at `path` must not be echoed: under a secret-bearing key, a string that
 * names one (a mis-indented `token:XYZ` read as the parent's value), text with
 * user:password@, or a URL with credentials, a query, a Slack hook or no http(s) scheme.
 */
export function isSecretBearing(path: KeyPath, value?: unknown): boolean {
  if (path.some((part) => typeof part === 'string' && SECRET_KEY.test(part))) return true;
  if (typeof value === 'string' && (SECRET_KEY.test(value) || USERINFO.test(value))) return true;
  const last = path.at(-1);
  if (typeof last !== 'string' || !URL_KEY.test(last)) return false;
  if (typeof value !== 'string') return true;
  // A Slack hook's path is the credential; a text that is no http(s) URL may be anything.
  return /^[^/]*\/\/[^/]*@/.test(value) || /slack/i.test(value) || value.includes('?') || !/^https?:\/\//i.test(value);
}
