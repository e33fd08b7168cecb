/**
 * Whether a PostgreSQL URL's authority parses as one `user:password@host:port`. A password
 * with an unescaped `@`, `#`, `/` or `?` ends the authority early, and a URL parser then
 * reads part of the password as the host (printed by `check`, logged by `serve`). Such a URL
 * is refused without echoing any of it.
 */
export function postgresUrlParses(url: string): boolean {
  const rest = url.replace(/^postgres(ql)?:\/\//, '');
  // A database URL has no fragment: a `#` can only be part of a password.
  if (rest.includes('#')) return false;
  const end = rest.search(/[/?]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  const after = end < 0 ? '' : rest.slice(end);
  // A second `@`, or one after the authority, means the password held `@`, `/` or `?`.
  if ((authority.match(/@/g) ?? []).length > 1 || after.includes('@')) return false;
  try {
    new URL(url);
    return true;
  } catch {
    return false;
  }
}
