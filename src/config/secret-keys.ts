import type { KeyPath } from './config-error.js';

/**
 * Keys whose values are, or may hold, a credential. A config message never repeats a
 * value under one of these (at any depth): it says what kind of value it got instead.
 * `auth` and `signature` hold a secret when written as a string where a map belongs
 * (`auth: "<token>"`, `signature: "whsec_…"`).
 */
export const SECRET_KEY =
  /secret|token|passw|passphrase|pwd|credential|sasl|private|api[-_]?key|access[-_]?key|_key$|auth|signature|bearer|jwt|hmac|dsn|cookie|^ssl$|^headers$/i;
const URL_KEY = /url|endpoint|uri|webhook/i;
/** user:password@ anywhere (a broker address, a URL without scheme). */
const USERINFO = /[^\s/@:]*:[^\s/@]*@/;

/**
 * Whether a value at `path` must not be echoed: under a secret-bearing key or a URL key
 * (a Slack or Discord hook's path, a query or user:password@ is the credential, and a
 * text that is no URL may be anything), a string that names a secret-bearing key (a
 * mis-indented `token:XYZ` read as the parent's value), or text with user:password@.
 */
export function isSecretBearing(path: KeyPath, value?: unknown): boolean {
  if (path.some((part) => typeof part === 'string' && (SECRET_KEY.test(part) || URL_KEY.test(part)))) return true;
  return typeof value === 'string' && (SECRET_KEY.test(value) || USERINFO.test(value));
}
