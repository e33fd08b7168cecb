import { closeSync, fdatasync, openSync } from 'node:fs';

/**
 * Makes committed WAL frames durable with one fdatasync on the thread pool, so the event
 * loop keeps parsing and verifying requests while the disk flushes. The WAL keeps its
 * inode for the life of the connection (restarts after a checkpoint overwrite it in
 * place; the store never truncates it), so one descriptor serves throughout.
 */
export class WalSync {
  private fd: number | null = null;

  constructor(private readonly walPath: string) {}

  sync(): Promise<void> {
    this.fd ??= openSync(this.walPath, 'r');
    const fd = this.fd;
    return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
