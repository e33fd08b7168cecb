import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { freePort } from './free-port.js';

const run = promisify(execFile);

/** Why radosgw cannot run here, or null when it can. */
export function radosgwMissing(): string | null {
  for (const tool of ['radosgw', 'ceph-mon', 'ceph-osd', 'monmaptool', 'radosgw-admin']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed`;
    }
  }
  return null;
}

export interface Radosgw {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not come up in ${timeoutMs} ms:\n${logs()}`);
}

/**
 * A real S3 server: Ceph's radosgw over one monitor and one in-memory OSD, all on
 * 127.0.0.1, no authentication inside the cluster. About 15 s from nothing to serving.
 */
export async function startRadosgw(): Promise<Radosgw> {
  const dir = mkdtempSync(join(tmpdir(), 'relay-radosgw-'));
  for (const sub of ['mon', 'osd/ceph-0', 'run', 'log', 'rgw']) mkdirSync(join(dir, sub), { recursive: true });
  const [monPort, rgwPort] = [await freePort(), await freePort()];
  const fsid = randomUUID();
  const conf = join(dir, 'ceph.conf');
  writeFileSync(
    conf,
    `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
ms client mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd crush chooseleaf type = 0
mon max pg per osd = 1000
mon allow pool size one = true
osd objectstore = memstore
memstore device bytes = 2147483648
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
log file = ${dir}/log/$name.log
mon data = ${dir}/mon/$cluster-$id
osd data = ${dir}/osd/$cluster-$id
keyring = ${dir}/keyring
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw data = ${dir}/rgw
`,
  );
  const c = ['-c', conf];
  const daemons: ChildProcess[] = [];
  const start = (command: string, args: string[]): void => {
    const child = spawn(command, [...c, ...args, '-f'], { stdio: 'ignore' });
    daemons.push(child);
  };
  const stop = async (): Promise<void> => {
    // radosgw ignores SIGTERM; the memstore OSD must not outlive its monitor.
    for (const child of daemons.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const logs = (): string => {
    try {
      return execFileSync('sh', ['-c', `tail -n 20 ${dir}/log/*.log`], { encoding: 'utf8' });
    } catch {
      return '(no logs)';
    }
  };

  try {
    await run('monmaptool', ['--create', '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, '--fsid', fsid, join(dir, 'monmap')]);
    await run('ceph-authtool', ['--create-keyring', join(dir, 'keyring'), '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *']);
    await run('ceph-mon', [...c, '--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap'), '--keyring', join(dir, 'keyring')]);
    start('ceph-mon', ['-i', 'a']);
    const { stdout: id } = await run('ceph', [...c, '--connect-timeout', '20', 'osd', 'create'], { timeout: 30_000 });
    await run('ceph-osd', [...c, '-i', id.trim(), '--mkfs']);
    start('ceph-osd', ['-i', id.trim()]);
    start('radosgw', ['-n', 'client.rgw']);
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    await waitFor('radosgw', async () => (await fetch(endpoint)).status === 200, 60_000, logs);
    const accessKeyId = 'RELAYTESTACCESSKEY';
    const secretAccessKey = 'relay-test-secret-key';
    await run('radosgw-admin', [...c, '-n', 'client.rgw', 'user', 'create', '--uid', 'relay-test', '--display-name', 'relay test',
      '--access-key', accessKeyId, '--secret-key', secretAccessKey], { timeout: 30_000 });
    return { endpoint, accessKeyId, secretAccessKey, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** An S3 client for the test server, with the checksum modes S3-compatible stores need. */
export function s3ClientFor(rgw: Pick<Radosgw, 'endpoint' | 'accessKeyId' | 'secretAccessKey'>): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint: rgw.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
