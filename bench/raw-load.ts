/**
 * A load generator that costs little, so that a bench on a small machine measures the server
 * and not itself: every request is serialised (head and body, signed) before the burst, and
 * written as one Buffer on a raw keep-alive socket; a response is framed by its
 * Content-Length and only its status is read. One request in flight per connection.
 */
import { connect, type Socket } from 'node:net';

/** One whole HTTP/1.1 POST, ready to write. */
export function serialisePost(url: string, path: string, headers: Record<string, string>, body: string): Buffer {
  const { host } = new URL(url);
  const bytes = Buffer.from(body);
  const lines = [`POST ${path} HTTP/1.1`, `host: ${host}`, `content-length: ${bytes.length}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), bytes]);
}

export interface BurstResult {
  /** Requests answered 2xx. */
  acked: number;
  /** Requests answered otherwise. */
  refused: number;
  elapsedMs: number;
  /** The generator's own CPU (process.cpuUsage, user + system) per request sent. */
  generatorCpuUsPerRequest: number;
  /** True when the burst ended early because every pre-built request was sent. */
  ranOut: boolean;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** Reads whole responses off a socket, one at a time, and hands back their status. */
class ResponseReader {
  private buffered: Buffer = Buffer.alloc(0);
  private waiter: { resolve: (status: number) => void; reject: (error: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      this.deliver();
    });
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  next(): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.waiter = { resolve, reject };
      this.deliver();
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.waiter?.reject(this.failure);
    this.waiter = null;
  }

  private deliver(): void {
    if (!this.waiter) return;
    const end = this.buffered.indexOf(HEADER_END);
    if (end < 0) return;
    const head = this.buffered.toString('latin1', 0, end);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 'NaN');
    if (Number.isNaN(length)) return this.fail(new Error(`a response without content-length: ${head.slice(0, 200)}`));
    if (this.buffered.length < end + 4 + length) return;
    this.buffered = this.buffered.subarray(end + 4 + length);
    const { resolve } = this.waiter;
    this.waiter = null;
    resolve(Number(head.slice(9, 12)));
  }
}

/**
 * Sends `requests` in order over `connections` keep-alive sockets for `seconds` (or until
 * every one was sent), each connection waiting for its answer before the next request.
 */
export async function burst(url: string, requests: readonly Buffer[], connections: number, seconds: number): Promise<BurstResult> {
  const { hostname, port } = new URL(url);
  const sockets = await Promise.all(
    Array.from({ length: connections }, () => new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port), noDelay: true }, () => resolve(socket));
      socket.once('error', reject);
    })),
  );
  let next = 0;
  let acked = 0;
  let refused = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const until = started + seconds * 1000;
  try {
    await Promise.all(
      sockets.map(async (socket) => {
        const reader = new ResponseReader(socket);
        while (performance.now() < until && next < requests.length) {
          socket.write(requests[next++]!);
          const status = await reader.next();
          if (status >= 200 && status < 300) acked++;
          else refused++;
        }
      }),
    );
  } finally {
    for (const socket of sockets) socket.destroy();
  }
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    acked,
    refused,
    elapsedMs,
    generatorCpuUsPerRequest: Math.round((cpu.user + cpu.system) / Math.max(1, acked + refused)),
    ranOut: next >= requests.length,
  };
}
