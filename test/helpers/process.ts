import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface RelayProcess {
  child: ChildProcess;
  url: string;
  /** stderr lines (JSON logs) seen so far */
  logs: string[];
  stdout: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `firecrawl-relay serve` from the build, and resolves once it listens. */
export function startRelayProcess(config: string, env: Record<string, string> = {}): Promise<RelayProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);
  const child = spawn(process.execPath, [CLI, 'serve', '--config', config], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const stdout: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  createInterface({ input: child.stdout! }).on('line', (line) => stdout.push(line));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`relay did not start:\n${logs.join('\n')}`)), 20_000);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`relay exited with ${code} before listening:\n${logs.join('\n')}`));
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; address?: string };
        if (entry.msg === 'relay listening' && entry.address) {
          clearTimeout(timer);
          resolve({ child, url: entry.address, logs, stdout, exited });
        }
      } catch {
        // not a log line (a Node warning): kept in logs only
      }
    });
  });
}

export async function kill(relay: RelayProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  relay.child.kill(signal);
  return relay.exited;
}

export { freePort } from './free-port.js';
