import { RelayError } from './errors.js';

const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

/**
 * What a 404 says depends on where the reader was: a mistyped console or admin address is
 * not a webhook "no source listens on" — that would send an operator to the sources config.
 */
export function notFoundError(method: string, path: string, adminOn: boolean): RelayError {
  const console = under(path, '/console');
  if (!console && !under(path, '/admin')) return new RelayError('RELAY_ERR_INGRESS_NOT_FOUND', [method, path]);
  if (!adminOn) return new RelayError('RELAY_ERR_ADMIN_DISABLED');
  return console ? new RelayError('RELAY_ERR_ADMIN_CONSOLE_NOT_FOUND', [method, path]) : new RelayError('RELAY_ERR_ADMIN_ROUTE_NOT_FOUND', [method, path]);
}
