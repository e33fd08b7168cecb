import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// No vitest import here: bench scripts use this module too.
const SOURCE = new URL('../kafka/mock-cluster.c', import.meta.url).pathname;

/** Why the Kafka mock cluster cannot run here, or null when it can. */
export function kafkaToolsMissing(): string | null {
  for (const tool of ['gcc', 'kcat']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed`;
    }
  }
  if (!existsSync('/usr/include/librdkafka/rdkafka_mock.h')) return 'librdkafka-dev is not installed';
  return null;
}

/** Compiles the mock-cluster helper once per source version. */
function helperBinary(): string {
  const hash = createHash('sha256').update(readFileSync(SOURCE)).digest('hex').slice(0, 12);
  const binary = join(tmpdir(), `firecrawl-relay-mock-cluster-${hash}`);
  if (!existsSync(binary)) {
    const partial = `${binary}.${process.pid}`;
    execFileSync('gcc', ['-O2', '-o', partial, SOURCE, '-lrdkafka'], { stdio: 'inherit' });
    execFileSync('mv', [partial, binary]);
  }
  return binary;
}

export interface MockCluster {
  brokers: string[];
  /** down ID | up ID | topic NAME N | errors APIKEY COUNT CODE | rtt ID MS (ID -1: all) */
  command(line: string): Promise<void>;
  stop(): Promise<void>;
}

/** A librdkafka mock cluster on 127.0.0.1 (random ports), alive while its stdin is open. */
export async function startMockCluster(brokers = 3): Promise<MockCluster> {
  const child: ChildProcessWithoutNullStreams = spawn(helperBinary(), [String(brokers)], { stdio: 'pipe' });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done || !first.value) throw new Error('mock cluster did not start');
  const bootstrap = first.value.trim().split(',');
  if (!bootstrap.every((b) => b.startsWith('127.0.0.1:'))) throw new Error(`mock cluster not on loopback: ${first.value}`);
  let queue = Promise.resolve();
  return {
    brokers: bootstrap,
    command(line) {
      queue = queue.then(async () => {
        child.stdin.write(`${line}\n`);
        const answer = await lines.next();
        if (answer.value !== 'ok') throw new Error(`mock cluster refused "${line}": ${String(answer.value)}`);
      });
      return queue;
    },
    async stop() {
      child.stdin.end();
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  payload: string | null;
  headers: Record<string, string>;
  /** the message timestamp (ms), when asked for */
  ts?: number;
}

/** Reads a topic from the beginning to its end with kcat (librdkafka: a client other than ours). */
export function consumeWithKcat(brokers: string[], topic: string, options: { timestamps?: boolean } = {}): ConsumedMessage[] {
  const out = execFileSync('kcat', ['-C', '-b', brokers.join(','), '-t', topic, '-o', 'beginning', '-e', '-q', '-J'], {
    encoding: 'utf8',
    timeout: 20_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((line) => {
      const m = JSON.parse(line) as { topic: string; partition: number; offset: number; ts?: number; key: string | null; payload: string | null; headers?: string[] };
      const headers: Record<string, string> = {};
      for (let i = 0; m.headers && i < m.headers.length; i += 2) headers[m.headers[i]!] = m.headers[i + 1]!;
      const message: ConsumedMessage = { topic: m.topic, partition: m.partition, offset: m.offset, key: m.key, payload: m.payload, headers };
      if (options.timestamps) message.ts = m.ts;
      return message;
    })
    .sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/**
 * Follows a topic with kcat while it is written, calling `onMessage` with each message's
 * timestamp and headers. The mock cluster keeps only about 5 MB per partition, so a
 * reader that comes late misses the oldest messages: benchmarks read as they go.
 */
export function followWithKcat(
  brokers: string[],
  topic: string,
  onMessage: (message: { ts: number; headers: Record<string, string> }) => void,
): { stop: () => Promise<void> } {
  const child = spawn('kcat', ['-C', '-b', brokers.join(','), '-t', topic, '-o', 'beginning', '-u', '-q', '-J'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.trim()) return;
    const m = JSON.parse(line) as { ts: number; headers?: string[] };
    const headers: Record<string, string> = {};
    for (let i = 0; m.headers && i < m.headers.length; i += 2) headers[m.headers[i]!] = m.headers[i + 1]!;
    onMessage({ ts: m.ts, headers });
  });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
