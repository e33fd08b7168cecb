import { pino, type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { LogDestination } from './log-destination.js';
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
 * terminal and `RELAY_LOG_FORMAT` is not `json`. A failing standard error drops lines
 * (counted by the destination) and never stops the relay.
 */
export function createLogger(level = 'info', destination: pino.DestinationStream = stderrDestination()): Logger {
  return pino(
    { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, serializers: { req: serializeRequest }, base: { service: 'firecrawl-relay' } },
    destination,
  );
}

/** The destination `serve` logs to: standard error, in the format asked for. */
export function stderrDestination(): LogDestination {
  const format = process.env.RELAY_LOG_FORMAT;
  const wantsPretty = format === 'pretty' || (format !== 'json' && process.stderr.isTTY === true);
  return new LogDestination({ fd: 2, format: wantsPretty ? prettyFactory({ ignore: 'pid,hostname,service' }) : undefined });
}
