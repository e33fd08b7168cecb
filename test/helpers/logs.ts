import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger.js';

/** The relay's own logger (redaction included) writing its JSON lines where a test can read them. */
export function capturedLogger(level = 'info') {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return {
    logger: createLogger(level, stream),
    lines,
    warnings: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.level === 40),
  };
}
