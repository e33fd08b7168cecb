import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers/relay.js';
import { PageWriter } from './page-writer.js';

let cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

/** The pid of a process that has ended. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid!;

// Issue 12 follow-up: a SIGKILL mid-write left `<page>.md.<pid>-<n>.tmp` files for good.
describe('page writer temporaries', () => {
  it('removes the temporaries of ended processes (and of an earlier run under its own pid) in a folder it first writes to, and keeps a live one', async () => {
    const tmp = tempDir('relay-pages-');
    const writer = new PageWriter();
    cleanups.push(tmp.cleanup, () => writer.close());
    const folder = join(tmp.dir, 'job-1');
    mkdirSync(folder);
    const dead = deadPid();
    const stale = [`a.md.${dead}-0.tmp`, `b.md.${dead}-0a1b2c3d-7.tmp`, `c.md.${process.pid}-3.tmp`];
    const live = `d.md.${process.ppid}-0.tmp`;
    for (const name of [...stale, live, 'keep.md']) writeFileSync(join(folder, name), 'x');

    const { failed } = await writer.write([{ index: 0, path: join(folder, 'new.md'), text: '# new' }], new AbortController().signal);

    expect(failed.size).toBe(0);
    expect(readdirSync(folder).sort()).toEqual([live, 'keep.md', 'new.md'].sort());
  });
});

// Issue 12 (shipped config): the batch's JSON lines are appended by the worker, in the same round trip as its pages.
describe('page writer journal', () => {
  const setup = () => {
    const tmp = tempDir('relay-journal-');
    const writer = new PageWriter();
    cleanups.push(tmp.cleanup, () => writer.close());
    const journal = join(tmp.dir, 'events.jsonl');
    const lines = (): string[] => (existsSync(journal) ? readFileSync(journal, 'utf8').split('\n').filter(Boolean) : []);
    return { dir: tmp.dir, writer, journal, lines };
  };
  const signal = () => new AbortController().signal;

  it('appends a line only for events whose pages exist: an unnameable page fails its event alone and stops the later lines of its job', async () => {
    const { dir, writer, journal, lines } = setup();
    const page = (index: number, name: string) => ({ index, path: join(dir, 'pages', `${name}.md`), text: `# ${name}` });
    const events = ['a', 'b', 'b', 'c'].map((jobId, n) => ({ jobId, line: `line ${n}\n` }));

    const { failed, appended } = await writer.write([page(0, 'a0'), page(1, 'x'.repeat(300)), page(2, 'b2'), page(3, 'c3')], signal(), { path: journal, events });

    expect([...failed.keys()]).toEqual([1]);
    expect((failed.get(1) as NodeJS.ErrnoException).code).toBe('ENAMETOOLONG');
    expect(appended).toBe(2);
    expect(lines()).toEqual(['line 0', 'line 3']);
    // The later event of job b (index 2) was written as a page, but has no line: it is delivered again after b's failure.
    expect(readdirSync(join(dir, 'pages')).sort()).toEqual(['a0.md', 'b2.md', 'c3.md']);
  });

  it('gives no line to an event already failed (null), nor to the later events of its job', async () => {
    const { writer, journal, lines } = setup();
    const events = [
      { jobId: 'a', line: null },
      { jobId: 'a', line: 'a1\n' },
      { jobId: 'b', line: 'b2\n' },
    ];
    expect((await writer.write([], signal(), { path: journal, events })).appended).toBe(1);
    expect(lines()).toEqual(['b2']);
  });

  it('appends no line when a page fails for any other reason (the line comes only after its pages)', async () => {
    const { dir, writer, journal, lines } = setup();
    writeFileSync(join(dir, 'not-a-folder'), 'x');
    const pages = [
      { index: 0, path: join(dir, 'ok.md'), text: 'ok' },
      { index: 1, path: join(dir, 'not-a-folder', 'p.md'), text: 'p' },
    ];
    const events = [
      { jobId: 'a', line: 'a0\n' },
      { jobId: 'b', line: 'b1\n' },
    ];
    await expect(writer.write(pages, signal(), { path: journal, events })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(existsSync(journal)).toBe(false);
  });

  it('stops between pages once aborted, and appends no line', async () => {
    const { dir, writer, journal } = setup();
    const pages = Array.from({ length: 2000 }, (_, i) => ({ index: 0, path: join(dir, 'pages', `p${i}.md`), text: `page ${i}` }));
    const controller = new AbortController();
    const writing = writer.write(pages, controller.signal, { path: journal, events: [{ jobId: 'a', line: 'a0\n' }] });
    controller.abort(new Error('write_timeout_ms'));
    await expect(writing).rejects.toThrow('write_timeout_ms');
    expect(existsSync(journal)).toBe(false);
    const folder = join(dir, 'pages');
    expect(existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith('.md')).length : 0).toBeLessThan(2000);
  });

  it('creates the file again when it was removed or rotated between batches', async () => {
    const { dir, writer, journal, lines } = setup();
    const batch = (line: string) => writer.write([], signal(), { path: journal, events: [{ jobId: 'a', line: `${line}\n` }] });
    await batch('first');
    rmSync(journal);
    await batch('second');
    expect(lines()).toEqual(['second']);
    renameSync(journal, join(dir, 'events.jsonl.1'));
    await batch('third');
    expect(lines()).toEqual(['third']);
    expect(readFileSync(join(dir, 'events.jsonl.1'), 'utf8')).toBe('second\n');
  });

  it('starts a new line after a torn last line (a relay killed mid-append): the next line stays whole', async () => {
    const { writer, journal, lines } = setup();
    writeFileSync(journal, '{"whole":1}\n{"torn":');
    await writer.write([], signal(), { path: journal, events: [{ jobId: 'a', line: '{"next":2}\n' }] });
    expect(lines()).toEqual(['{"whole":1}', '{"torn":', '{"next":2}']);
  });

  it('creates the folder again when it was removed between batches', async () => {
    const { dir, writer, lines } = setup();
    const journal = join(dir, 'out', 'events.jsonl');
    const batch = (line: string) => writer.write([], signal(), { path: journal, events: [{ jobId: 'a', line: `${line}\n` }] });
    await batch('first');
    rmSync(join(dir, 'out'), { recursive: true });
    await batch('second');
    expect(readFileSync(journal, 'utf8')).toBe('second\n');
    expect(lines()).toEqual([]);
  });

  it('leaves no temporary behind when a page cannot be put in place', async () => {
    const { dir, writer } = setup();
    // A folder where the page file should go: the rename fails (EISDIR) after the temporary was written.
    mkdirSync(join(dir, 'pages', 'p.md'), { recursive: true });
    await expect(writer.write([{ index: 0, path: join(dir, 'pages', 'p.md'), text: 'x' }], signal())).rejects.toMatchObject({ code: 'EISDIR' });
    expect(readdirSync(join(dir, 'pages'))).toEqual(['p.md']);
  });

  it('close waits for the batch being written: its lines are whole', async () => {
    const { dir, writer, journal, lines } = setup();
    const pages = Array.from({ length: 300 }, (_, i) => ({ index: i, path: join(dir, 'pages', `p${i}.md`), text: `page ${i}` }));
    const events = pages.map((_, i) => ({ jobId: `j${i}`, line: `{"n":${i}}\n` }));
    const writing = writer.write(pages, signal(), { path: journal, events });
    await writer.close();
    expect((await writing).appended).toBe(300);
    expect(lines()).toHaveLength(300);
  });
});
