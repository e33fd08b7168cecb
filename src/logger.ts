import { pino, type Logger } from 'pino';

/**
 * Paths that never reach a log line, whatever a caller passes: signatures, tokens,
 * authorization headers, secrets and payload bodies.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-firecrawl-signature"]',
  'headers.authorization',
  'headers["x-firecrawl-signature"]',
  'secret',
  'secrets',
  'token',
  'tokens',
  'signature',
  'body',
  'payload',
  '*.secret',
  '*.secrets',
  '*.token',
  '*.tokens',
  '*.signature',
  '*.body',
  '*.payload',
];

/** JSON lines on standard error; standard output is left to the stdout sink. */
export function createLogger(level = 'info', destination: pino.DestinationStream = pino.destination(2)): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'firecrawl-relay' } }, destination);
}
