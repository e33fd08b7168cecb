import type { ConfigIssue, KeyPath } from './config-error.js';
import type { YamlSource } from './yaml-document.js';

/** Shorter tokens are warned about: 16 characters of hex are 64 bits. */
export const TOKEN_MIN_LENGTH = 16;
/** What a query string carries unchanged; `+` becomes a space, `%`, `&`, `#` end or alter it. */
const QUERY_SAFE = /^[A-Za-z0-9._~-]+$/;

interface RawTokenSource {
  secrets?: readonly string[];
  auth: { query?: string; tokens: readonly string[] };
}

/**
 * What the schema cannot say about token auth. Errors: secrets next to it (they would never
 * be checked) and a token of whitespace only. Warnings: a short token, and with `query:`
 * a token that a query string would alter. Messages never hold a token.
 */
export function checkTokenAuth(source: YamlSource, base: KeyPath, raw: RawTokenSource, warnings: ConfigIssue[]): void {
  if ((raw.secrets ?? []).some((s) => s !== '')) {
    source.report('RELAY_ERR_CONFIG_INVALID', [...base, 'secrets'], [
      'expected no `secrets` with token auth, got some: signatures are not checked under token auth, so they would be unused. Remove them, or give signed senders a source of their own',
    ]);
  }
  raw.auth.tokens.forEach((token, index) => {
    const path = [...base, 'auth', 'tokens', index];
    if (token === '') return; // an unset ${VAR:-}: dropped, reported when none is left
    if (token.trim() === '') {
      source.report('RELAY_ERR_CONFIG_INVALID', path, [`expected a token, got ${token.length} whitespace characters`]);
      return;
    }
    if (token.length < TOKEN_MIN_LENGTH) {
      warnings.push(
        source.issue('RELAY_ERR_CONFIG_INVALID', path, [
          `expected a token of at least ${TOKEN_MIN_LENGTH} characters, got ${token.length}: a short token is easy to guess (openssl rand -hex 16 makes one)`,
        ]),
      );
    }
    if (raw.auth.query !== undefined && !QUERY_SAFE.test(token)) {
      warnings.push(
        source.issue('RELAY_ERR_CONFIG_INVALID', path, [
          `expected a token of letters, digits and - . _ ~ with \`query: ${raw.auth.query}\`, got other characters: in a query string a \`+\` is read as a space and \`%\`, \`&\`, \`#\` change it, so ?${raw.auth.query}= would not match. Percent-encode it in SELF_HOSTED_WEBHOOK_URL, or use such a token`,
        ]),
      );
    }
  });
}

/** The admin token can drop every dead letter: longer than an ingress token, and varied. */
export const ADMIN_TOKEN_MIN_LENGTH = 24;
/** `changeme…`, `aaaa…`, `1234…`: fewer different characters than this is a guessable pattern. */
export const ADMIN_TOKEN_MIN_DISTINCT = 8;

/** Warnings for a weak `admin.token` ('' is the API turned off). Messages never hold the token. */
export function checkAdminToken(source: YamlSource, token: string, warnings: ConfigIssue[]): void {
  if (token === '') return;
  const advice = 'a weak admin token is easy to guess, and it can replay or drop every dead letter (openssl rand -hex 16 makes a good one)';
  if (token.length < ADMIN_TOKEN_MIN_LENGTH) {
    warnings.push(source.issue('RELAY_ERR_CONFIG_INVALID', ['admin', 'token'], [`expected a token of at least ${ADMIN_TOKEN_MIN_LENGTH} characters, got ${token.length}: ${advice}`]));
    return;
  }
  const distinct = new Set(token).size;
  if (distinct < ADMIN_TOKEN_MIN_DISTINCT) {
    warnings.push(
      source.issue('RELAY_ERR_CONFIG_INVALID', ['admin', 'token'], [`expected a token of at least ${ADMIN_TOKEN_MIN_DISTINCT} different characters, got ${distinct}: ${advice}`]),
    );
  }
}
