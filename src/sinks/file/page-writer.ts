import { Worker } from 'node:worker_threads';

export interface PageFile {
  /** The batch index of the event the page belongs to. */
  index: number;
  path: string;
  text: string;
}

/** Errors of one file name that no retry can fix (e.g. a page key past the file system's limit). */
const NAME_ERRORS = ['ENAMETOOLONG', 'EINVAL', 'EILSEQ'];

/*
 * The worker writes each page to a temporary file and renames it into place, synchronously:
 * four system calls a page, off the main thread, where the same calls through the
 * promise API cost the relay ~15 % of its CPU in dispatch alone. Plain JS, evaluated, so
 * that it runs the same from the build and from the sources under test.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { mkdirSync, renameSync, writeFileSync } = require('node:fs');
const { dirname } = require('node:path');
const NAME_ERRORS = new Set(${JSON.stringify(NAME_ERRORS)});
const folders = new Set();
let temporaries = 0;
function writePage(path, text) {
  const folder = dirname(path);
  if (!folders.has(folder)) {
    mkdirSync(folder, { recursive: true });
    folders.add(folder);
  }
  const temporary = path + '.' + process.pid + '-' + temporaries++ + '.tmp';
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}
parentPort.on('message', ({ id, pages, abort }) => {
  const aborted = new Int32Array(abort);
  const failed = [];
  let fatal = null;
  for (const page of pages) {
    if (Atomics.load(aborted, 0) !== 0) break;
    if (failed.some((f) => f.index === page.index)) continue;
    try {
      try {
        writePage(page.path, page.text);
      } catch (err) {
        // A folder removed behind our back: make it again, once.
        if (err.code !== 'ENOENT') throw err;
        folders.delete(dirname(page.path));
        writePage(page.path, page.text);
      }
    } catch (err) {
      if (!NAME_ERRORS.has(err.code)) {
        fatal = { code: err.code, message: err.message };
        break;
      }
      failed.push({ index: page.index, code: err.code, message: err.message });
    }
  }
  parentPort.postMessage({ id, failed, fatal, aborted: Atomics.load(aborted, 0) !== 0 });
});
`;

interface Reply {
  id: number;
  failed: Array<{ index: number; code: string; message: string }>;
  fatal: { code: string; message: string } | null;
  aborted: boolean;
}

/** Writes a batch's page files on a worker thread; one batch at a time, as the sink is written. */
export class PageWriter {
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  private next = 0;

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.on('message', (reply: Reply) => {
      this.waiting.get(reply.id)?.resolve(reply);
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) worker.unref();
    });
    const fail = (error: Error): void => {
      for (const { reject } of this.waiting.values()) reject(error);
      this.waiting.clear();
      this.worker = null;
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`page writer exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  /**
   * Writes the pages; resolves with the events whose page name the file system refused.
   * Throws on anything else (disk full, permissions), and once `signal` aborts, after the
   * page being written is done: nothing more is written for the batch.
   */
  async write(pages: readonly PageFile[], signal: AbortSignal): Promise<Map<number, Error>> {
    signal.throwIfAborted();
    const worker = this.start();
    const abort = new SharedArrayBuffer(4);
    const onAbort = (): void => void Atomics.store(new Int32Array(abort), 0, 1);
    signal.addEventListener('abort', onAbort, { once: true });
    const id = this.next++;
    try {
      const reply = await new Promise<Reply>((resolve, reject) => {
        this.waiting.set(id, { resolve, reject });
        worker.ref();
        worker.postMessage({ id, pages, abort });
      });
      signal.throwIfAborted();
      if (reply.fatal) throw Object.assign(new Error(reply.fatal.message), { code: reply.fatal.code });
      return new Map(reply.failed.map((f) => [f.index, Object.assign(new Error(f.message), { code: f.code })]));
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }
}
