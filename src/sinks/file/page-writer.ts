import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';

export interface PageFile {
  /** The batch index of the event the page belongs to. */
  index: number;
  path: string;
  text: string;
}

/** The batch's JSON Lines file, appended by the worker once the batch's pages are written. */
export interface Journal {
  path: string;
  /**
   * Every event of the batch, in order: its job and its line, or null for an event that
   * already failed (it gets no line, nor do the later events of its job).
   */
  events: ReadonlyArray<{ jobId: string; line: string | null }>;
}

export interface WriteOutcome {
  /** The events whose page name the file system refused: no line for them. */
  failed: Map<number, Error>;
  /** Lines appended to the journal. */
  appended: number;
}

/**
 * Names this process's temporaries (`<page>.<pid>-<boot>-<n>.tmp`): a relay restarted under
 * the same pid (pid 1 in a container) still tells its own from a killed predecessor's.
 */
const BOOT = randomBytes(4).toString('hex');

/** Errors of one file name that no retry can fix (e.g. a page key past the file system's limit). */
const NAME_ERRORS = ['ENAMETOOLONG', 'EINVAL', 'EILSEQ'];

/*
 * The worker writes each page to a temporary file and renames it into place, synchronously:
 * four system calls a page, off the main thread, where the same calls through the
 * promise API cost the relay ~15 % of its CPU in dispatch alone. Then it appends the
 * batch's JSON lines and fdatasyncs them, in the same round trip: a line means its pages
 * exist. Plain JS, evaluated, so that it runs the same from the build and from the sources
 * under test.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { closeSync, fdatasyncSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readSync, readdirSync, renameSync, unlinkSync, writeFileSync, writeSync } = require('node:fs');
const { dirname, join } = require('node:path');
const NAME_ERRORS = new Set(${JSON.stringify(NAME_ERRORS)});
const BOOT = ${JSON.stringify(BOOT)};
// <pid>-<boot>-<n>.tmp, or <pid>-<n>.tmp as earlier releases named them.
const TEMPORARY = /\\.(\\d+)-(?:([0-9a-f]{8})-)?\\d+\\.tmp$/;
const folders = new Set();
let temporaries = 0;
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}
// A relay killed mid-write (SIGKILL, power loss) leaves its temporary: remove those of
// processes gone, once per folder and process; a live relay's (a shared folder) stay.
function removeStaleTemporaries(folder) {
  for (const name of readdirSync(folder)) {
    const match = TEMPORARY.exec(name);
    if (!match || match[2] === BOOT) continue;
    const pid = Number(match[1]);
    if (pid !== process.pid && alive(pid)) continue;
    try {
      unlinkSync(join(folder, name));
    } catch {
      // Gone already, or not ours to remove: harmless either way.
    }
  }
}
function writePage(path, text) {
  const folder = dirname(path);
  if (!folders.has(folder)) {
    mkdirSync(folder, { recursive: true });
    removeStaleTemporaries(folder);
    folders.add(folder);
  }
  const temporary = path + '.' + process.pid + '-' + BOOT + '-' + temporaries++ + '.tmp';
  try {
    writeFileSync(temporary, text);
    renameSync(temporary, path);
  } catch (err) {
    // A write that failed (disk full) leaves no temporary behind for each retry.
    try {
      unlinkSync(temporary);
    } catch {
      // never created
    }
    throw err;
  }
}
// Opened for each batch rather than kept open: a file rotated or removed between batches
// is simply created again, and no descriptor outlives the worker (a reload starts a new one).
// A file this call creates has its folder synced too: its name survives a power loss.
function openJournal(path) {
  try {
    return { fd: openSync(path, 'ax+'), created: true };
  } catch (err) {
    // The folder removed behind our back: made again, as for pages.
    if (err.code === 'ENOENT') {
      mkdirSync(dirname(path), { recursive: true });
      return openJournal(path);
    }
    if (err.code !== 'EEXIST') throw err;
    return { fd: openSync(path, 'a+'), created: false };
  }
}
// A file that does not end a line (a relay killed mid-append) gets a newline first, so the
// torn line stays on its own and the next event's line is whole.
function endsLine(fd, size) {
  if (size === 0) return true;
  const last = Buffer.alloc(1);
  return readSync(fd, last, 0, 1, size - 1) === 1 && last[0] === 10;
}
function syncFolder(path) {
  const fd = openSync(dirname(path), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
function appendLines(journal, failed) {
  const stopped = new Set();
  const lines = [];
  journal.events.forEach((event, index) => {
    if (event.line === null || failed.has(index)) stopped.add(event.jobId);
    else if (!stopped.has(event.jobId)) lines.push(event.line);
  });
  if (lines.length === 0) return 0;
  const data = Buffer.from(lines.join(''));
  const { fd, created } = openJournal(journal.path);
  try {
    const size = fstatSync(fd).size;
    const bytes = endsLine(fd, size) ? data : Buffer.concat([Buffer.from('\\n'), data]);
    try {
      for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written);
      fdatasyncSync(fd);
    } catch (err) {
      // All or nothing: a partial append (disk full) is cut off, the batch is tried again whole.
      try {
        ftruncateSync(fd, size);
      } catch {
        // the next append starts a new line anyway (endsLine)
      }
      throw err;
    }
  } finally {
    closeSync(fd);
  }
  if (created) syncFolder(journal.path);
  return lines.length;
}
parentPort.on('message', ({ id, pages, journal, abort }) => {
  const aborted = new Int32Array(abort);
  const failed = new Map();
  let fatal = null;
  for (const page of pages) {
    if (Atomics.load(aborted, 0) !== 0) break;
    if (failed.has(page.index)) continue;
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
      failed.set(page.index, { index: page.index, code: err.code, message: err.message });
    }
  }
  // Stopped by the abort (between pages, or before the lines): no line at all.
  const stopped = fatal === null && Atomics.load(aborted, 0) !== 0;
  let appended = 0;
  if (fatal === null && !stopped && journal) {
    try {
      appended = appendLines(journal, failed);
    } catch (err) {
      fatal = { code: err.code, message: err.message };
    }
  }
  parentPort.postMessage({ id, failed: [...failed.values()], fatal, aborted: stopped, appended });
});
`;

interface Reply {
  id: number;
  failed: Array<{ index: number; code: string; message: string }>;
  fatal: { code: string; message: string } | null;
  aborted: boolean;
  appended: number;
}

/**
 * Writes a batch's page files, then its JSON lines, on a worker thread: one round trip a
 * batch. One batch at a time, as the sink is written.
 */
export class PageWriter {
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, { resolve: (reply: Reply) => void; reject: (error: Error) => void }>();
  private next = 0;
  /** The batch being written, which close() lets end: terminating mid-append would cut a line. */
  private writing: Promise<unknown> = Promise.resolve();

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
   * Writes the pages, then appends the journal's lines (if any) with one fdatasync; resolves
   * with the events whose page name the file system refused. Throws on anything else (disk
   * full, permissions), and once `signal` aborts, after the page being written is done:
   * nothing more is written for the batch, and no line.
   */
  async write(pages: readonly PageFile[], signal: AbortSignal, journal?: Journal): Promise<WriteOutcome> {
    signal.throwIfAborted();
    // Nothing to write (markdown off, jsonl null): no round trip.
    if (pages.length === 0 && !journal) return { failed: new Map(), appended: 0 };
    const worker = this.start();
    const abort = new SharedArrayBuffer(4);
    const onAbort = (): void => void Atomics.store(new Int32Array(abort), 0, 1);
    signal.addEventListener('abort', onAbort, { once: true });
    const id = this.next++;
    try {
      const replied = new Promise<Reply>((resolve, reject) => {
        this.waiting.set(id, { resolve, reject });
        worker.ref();
        worker.postMessage({ id, pages, journal, abort });
      });
      this.writing = replied.catch(() => undefined);
      const reply = await replied;
      // Lines appended before the abort was seen stand (throwing would write them twice).
      if (reply.fatal || reply.aborted) {
        signal.throwIfAborted();
        throw Object.assign(new Error(reply.fatal!.message), { code: reply.fatal!.code });
      }
      return {
        failed: new Map(reply.failed.map((f) => [f.index, Object.assign(new Error(f.message), { code: f.code })])),
        appended: reply.appended,
      };
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    await this.writing;
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }
}
