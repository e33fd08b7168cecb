import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One request a real Firecrawl sent, as recorded: header names, casing and order, and raw body. */
export interface Capture {
  name: string;
  url: string;
  /** Name, value, name, value… exactly as sent. */
  rawHeaders: string[];
  body: Buffer;
}

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The captures folder: `FIRECRAWL_CAPTURES_DIR`, else `shared/firecrawl-captures` beside the
 * repository (as CI checks it out) or beside one of its parents (a git worktree), else null.
 */
export function capturesDir(): string | null {
  if (process.env.FIRECRAWL_CAPTURES_DIR) return resolve(process.env.FIRECRAWL_CAPTURES_DIR);
  for (let dir = dirname(REPO); ; dir = dirname(dir)) {
    const candidate = join(dir, 'shared', 'firecrawl-captures');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

/** `sample-<type>.<variant>.json` with its `.body.json`: the request and its exact bytes. */
export function loadCapture(dir: string, name: string): Capture {
  const request = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as { url: string; rawHeaders: string[] };
  return { name, url: request.url, rawHeaders: request.rawHeaders, body: readFileSync(join(dir, `${name}.body.json`)) };
}

/** Names of the request captures in `dir` (each has a `.body.json` beside it). */
export function captureNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith('sample-') && f.endsWith('.json') && !f.endsWith('.body.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/**
 * POSTs over a plain socket, writing the header lines exactly as given (no client library
 * re-cases, reorders or adds any), then the body. Resolves with the answer's status and body.
 */
export function postRaw(port: number, url: string, rawHeaders: readonly string[], body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolvePost, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = received.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (received.length < end + 4 + length) return;
      socket.destroy();
      resolvePost({ status: Number(head.split(' ')[1]), body: received.subarray(end + 4, end + 4 + length).toString('utf8') });
    });
    const lines = [`POST ${url} HTTP/1.1`];
    for (let i = 0; i < rawHeaders.length; i += 2) lines.push(`${rawHeaders[i]}: ${rawHeaders[i + 1]}`);
    socket.write(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]));
  });
}
