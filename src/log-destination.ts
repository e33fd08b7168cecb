import { writeSync } from 'node:fs';

export interface LogDestinationOptions {
  /** File descriptor the lines go to (2: standard error). */
  fd?: number;
  /** Bytes held while the destination is full (EAGAIN); past it, new lines are dropped. */
  maxPendingBytes?: number;
  /** How long to wait before trying a full destination again. */
  retryMs?: number;
  /** Turns a JSON line into what is written (the pretty format); the identity by default. */
  format?: (line: string) => string;
  /** The write itself; `fs.writeSync` unless a test passes another. */
  write?: (fd: number, data: Buffer) => number;
}

/**
 * Where log lines go, built so that a failing destination never blocks, crashes or stalls
 * the relay. pino's default destination (sonic-boom) retries a failed synchronous flush
 * forever and pino runs that flush in `process.exit`: a closed stderr pipe (EPIPE) froze
 * the relay on its way out. Here every write is one non-blocking attempt: a full
 * destination (EAGAIN) keeps the line in a bounded buffer and tries again on a timer; any
 * other failure (EPIPE, ENOSPC, EBADF…) drops the line. Dropped lines are counted.
 */
export class LogDestination {
  /** Lines that never reached the destination. */
  droppedLines = 0;
  private readonly fd: number;
  private readonly maxPendingBytes: number;
  private readonly retryMs: number;
  private readonly format: (line: string) => string;
  private readonly writeTo: (fd: number, data: Buffer) => number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private drainedWaiters: Array<() => void> = [];

  constructor(options: LogDestinationOptions = {}) {
    this.fd = options.fd ?? 2;
    this.maxPendingBytes = options.maxPendingBytes ?? 4 * 1024 * 1024;
    this.retryMs = options.retryMs ?? 20;
    this.format = options.format ?? ((line) => line);
    this.writeTo = options.write ?? writeSync;
    // Opening Node's stream on a pipe makes the descriptor non-blocking: a full pipe whose
    // reader stalled then answers EAGAIN instead of holding the whole process in write(2).
    if (this.fd === 2) void process.stderr;
    if (this.fd === 1) void process.stdout;
  }

  /** Called by pino with one serialized line. */
  write(line: string): void {
    const data = Buffer.from(this.format(line));
    if (this.pending.length > 0) this.hold(data);
    else if (!this.tryWrite(data)) this.hold(data);
  }

  /** Lines still waiting for a full destination. */
  get pendingLines(): number {
    return this.pending.length;
  }

  /** Resolves once nothing waits (at once when nothing does). */
  drained(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainedWaiters.push(resolve));
  }

  /** Gives up on what waits (counted as dropped), so a last line goes out first. */
  abandonPending(): void {
    this.droppedLines += this.pending.length;
    this.pending = [];
    this.pendingBytes = 0;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /**
   * Writes `data` whole or keeps its unwritten rest at the head of `pending`. Returns false
   * when the destination is full and the line (or its rest) should wait.
   */
  private tryWrite(data: Buffer): boolean {
    let rest = data;
    while (rest.length > 0) {
      try {
        rest = rest.subarray(this.writeTo(this.fd, rest));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if ((code === 'EAGAIN' || code === 'EWOULDBLOCK') && rest === data) return false;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          // Half a line is out: the rest goes first when there is room again.
          this.pending.unshift(rest);
          this.pendingBytes += rest.length;
          this.scheduleRetry();
          return true;
        }
        this.droppedLines++;
        return true;
      }
    }
    return true;
  }

  private hold(data: Buffer): void {
    if (this.pendingBytes + data.length > this.maxPendingBytes) {
      this.droppedLines++;
      return;
    }
    this.pending.push(data);
    this.pendingBytes += data.length;
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.writePending();
    }, this.retryMs);
    // Waiting log lines never keep the process alive on their own.
    this.retryTimer.unref();
  }

  private writePending(): void {
    while (this.pending.length > 0) {
      const data = this.pending.shift()!;
      this.pendingBytes -= data.length;
      if (!this.tryWrite(data)) {
        this.pending.unshift(data);
        this.pendingBytes += data.length;
        this.scheduleRetry();
        return;
      }
      if (this.retryTimer) return; // a partial write put its rest back
    }
    for (const resolve of this.drainedWaiters.splice(0)) resolve();
  }
}
