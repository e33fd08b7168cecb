import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe } from 'vitest';
import { freePort } from './free-port.js';

const run = promisify(execFile);

/** Where Debian puts the server binaries (not on PATH); PATH is tried after. */
const DEBIAN_BIN_DIRS = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'];

function findBin(name: string): string | null {
  for (const dir of DEBIAN_BIN_DIRS) if (existsSync(join(dir, name))) return join(dir, name);
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/** Why a throwaway PostgreSQL cannot run here, or null when it can. */
export function postgresMissing(): string | null {
  for (const tool of ['initdb', 'pg_ctl']) if (!findBin(tool)) return `${tool} is not installed`;
  if (process.getuid?.() === 0 && !findBin('runuser')) return 'runuser is missing (needed to run initdb as postgres)';
  return null;
}

/**
 * A describe() that needs PostgreSQL: under CI=true it always runs (and fails if the
 * binaries are missing); elsewhere it skips, loudly, when they are.
 */
export function describeWithPostgres(name: string, body: () => void): void {
  const why = postgresMissing();
  if (why && process.env.CI !== 'true') {
    console.warn(`\n!!! SKIPPED "${name}": ${why} (apt-get install postgresql; CI never skips)\n`);
    describe.skip(name, body);
    return;
  }
  describe(name, body);
}

export interface PostgresCluster {
  /** postgres://relay@127.0.0.1:<port>/postgres (trust: no password). */
  url: string;
  port: number;
  /** A fresh database on the cluster; its URL. */
  createDatabase(name: string): Promise<string>;
  /** `pg_ctl stop -m fast` (connections cut, then a clean shutdown). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** `pg_ctl stop -m immediate`: a crash, commits made without the WAL flush may be lost. */
  crash(): Promise<void>;
  /** `pg_ctl restart -m fast`. */
  restart(): Promise<void>;
  /** SIGSTOP to the postmaster and every backend: a server that hangs, as under a partition. */
  freeze(): void;
  /** SIGCONT to the same processes. */
  thaw(): void;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
  /** CPU time (user + system, µs) the server's processes have used so far: postmaster, live children and exited ones. */
  cpuMicros(): number;
}

/** A process and its live descendants, the process first (the postmaster: its backends and workers). */
function processTree(pid: number): number[] {
  const found: number[] = [];
  const visit = (id: number): void => {
    found.push(id);
    try {
      const children = readFileSync(`/proc/${id}/task/${id}/children`, 'utf8').trim();
      for (const child of children ? children.split(' ') : []) visit(Number(child));
    } catch {
      // exited meanwhile
    }
  };
  visit(pid);
  return found;
}

/** Signals a process; one that exited meanwhile (a backend whose connection closed) is skipped. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * User + system CPU of a process and its live children, in µs (Linux /proc, 100 ticks/s),
 * plus what its exited children used (the root's cutime and cstime): PostgreSQL backends
 * come and go with connections, and a tree of live processes alone would miss them.
 */
export function processTreeCpuMicros(pid: number): number {
  let ticks = 0;
  for (const id of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${id}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // Fields 14-17 of stat(5): utime, stime, cutime, cstime (children waited for).
      ticks += Number(fields[11]) + Number(fields[12]) + (id === pid ? Number(fields[13]) + Number(fields[14]) : 0);
    } catch {
      // exited meanwhile
    }
  }
  return ticks * 10_000;
}


/**
 * A throwaway cluster: `initdb -A trust -U relay` in a temporary directory, served on a free
 * port on 127.0.0.1 with its socket in that directory. About a second from nothing to serving.
 * As root the server cannot run as root, so the directory is given to `postgres` and every
 * command runs through `runuser -u postgres --`.
 */
export async function startPostgres(): Promise<PostgresCluster> {
  const initdb = findBin('initdb');
  const pgCtl = findBin('pg_ctl');
  if (!initdb || !pgCtl) throw new Error(postgresMissing() ?? 'PostgreSQL binaries missing');
  const dir = mkdtempSync(join(tmpdir(), 'relay-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const exec = (bin: string, args: string[]): Promise<unknown> =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', bin, ...args]) : run(bin, args);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200`;
  const ctl = (action: string, ...extra: string[]): Promise<unknown> =>
    exec(pgCtl, [action, '-D', data, '-w', '-t', '60', '-l', join(dir, 'server.log'), '-o', options, ...extra]);

  try {
    await exec(initdb, ['-D', data, '-A', 'trust', '-U', 'relay', '--no-sync', '-E', 'UTF8']);
    await ctl('start');
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const url = `postgres://relay@127.0.0.1:${port}/postgres`;
  let destroyed = false;
  const postmaster = (): number => Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return {
    url,
    port,
    async createDatabase(name) {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
      } finally {
        await client.end();
      }
      return `postgres://relay@127.0.0.1:${port}/${name}`;
    },
    stop: () => ctl('stop', '-m', 'fast').then(() => undefined),
    crash: () => ctl('stop', '-m', 'immediate').then(() => undefined),
    start: () => ctl('start').then(() => undefined),
    restart: () => ctl('restart', '-m', 'fast').then(() => undefined),
    freeze: () => {
      for (const pid of processTree(postmaster())) signal(pid, 'SIGSTOP');
    },
    thaw: () => {
      for (const pid of processTree(postmaster()).reverse()) signal(pid, 'SIGCONT');
    },
    cpuMicros: () => processTreeCpuMicros(Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])),
    async destroy() {
      if (destroyed) return;
      try {
        for (const pid of processTree(postmaster())) signal(pid, 'SIGCONT');
      } catch {
        // not running
      }
      destroyed = true;
      await exec(pgCtl, ['stop', '-D', data, '-m', 'immediate', '-w']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
