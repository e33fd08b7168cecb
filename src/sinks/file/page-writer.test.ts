import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
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

    const failed = await writer.write([{ index: 0, path: join(folder, 'new.md'), text: '# new' }], new AbortController().signal);

    expect(failed.size).toBe(0);
    expect(readdirSync(folder).sort()).toEqual([live, 'keep.md', 'new.md'].sort());
  });
});
