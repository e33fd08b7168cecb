/**
 * node-postgres 8 verifies `sslmode=prefer`, `require` and `verify-ca` as `verify-full`, and
 * says so in a multi-line SECURITY WARNING on stderr at every start. The URL handed to it
 * names that mode itself: the same connection, without the warning. `uselibpqcompat=true`
 * (libpq's meanings) is left as written.
 */
export function explicitSslMode(url: string): string {
  if (/[?&]uselibpqcompat=/i.test(url)) return url;
  return url.replace(/([?&]sslmode=)(prefer|require|verify-ca)(?=&|#|$)/, '$1verify-full');
}

/** The sslmode queue.url asks for, if any. */
export function sslModeOf(url: string): string | null {
  return /[?&]sslmode=([^&#]*)/.exec(url)?.[1] ?? null;
}

/** Whether connecting failed in the SSL handshake: a server without SSL, or a certificate refused. */
export function sslFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return /\bSSL\b/.test(err.message) || (typeof code === 'string' && /CERT|TLS/.test(code));
}
