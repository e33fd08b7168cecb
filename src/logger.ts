import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { serializeRequest } from './request-log.js';

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

/**
 * Logs on standard error (standard output is left to the stdout sink): JSON lines, or
 * human-readable ones when `RELAY_LOG_FORMAT=pretty`, or when standard error is a
 * terminal and `RELAY_LOG_FORMAT` is not `json`.
 */
export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  const format = process.env.RELAY_LOG_FORMAT;
  const wantsPretty = format === 'pretty' || (format !== 'json' && process.stderr.isTTY === true);
  const stream = destination ?? (wantsPretty ? pretty({ destination: 2, sync: true, ignore: 'pid,hostname,service' }) : pino.destination(2));
  return pino(
    { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, serializers: { req: serializeRequest }, base: { service: 'firecrawl-relay' } },
    stream,
  );
}
