import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startReceiver } from '../helpers/receiver.js';
import type { ContractDestination } from './sink-contract.js';

type Mode = { kind: 'ok' } | { kind: 'refuse' } | { kind: 'refuse-permanently' } | { kind: 'slow'; ms: number };

/**
 * An HTTP destination (webhook, Slack, Discord…): a real server on 127.0.0.1 that answers
 * 503 while refusing, `permanentStatus` once when refusing for good, and reads job ids with
 * `jobOf` from what it accepted.
 */
export async function httpDestination(options: (url: string) => string, jobOf: (body: string) => string, permanentStatus = 400): Promise<ContractDestination> {
  let mode: Mode = { kind: 'ok' };
  const accepted: string[] = [];
  const receiver = await startReceiver((request, response) => {
    const answer = (status: number): void => {
      response.statusCode = status;
      response.end(status === 200 ? 'ok' : 'refused');
    };
    switch (mode.kind) {
      case 'refuse':
        return answer(503);
      case 'refuse-permanently':
        mode = { kind: 'ok' };
        return answer(permanentStatus);
      case 'slow':
        return void setTimeout(() => answer(503), mode.ms);
      case 'ok':
        accepted.push(jobOf(request.body.toString()));
        return answer(200);
    }
  });
  return {
    options: options(`${receiver.url}/hook`),
    received: () => accepted,
    refuse: () => void (mode = { kind: 'refuse' }),
    refusePermanently: () => void (mode = { kind: 'refuse-permanently' }),
    slowDown: (ms) => void (mode = { kind: 'slow', ms }),
    restore: () => void (mode = { kind: 'ok' }),
    close: receiver.close,
  };
}

/** The file sink's folder: refused by putting a file where the folder should be. */
export async function fileDestination(dir: string): Promise<ContractDestination> {
  const out = join(dir, 'out');
  const jsonl = join(out, 'events.jsonl');
  return {
    options: `dir: ${out}\nmarkdown: false`,
    received: () => (existsSync(jsonl) ? readFileSync(jsonl, 'utf8').trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id) : []),
    refuse: () => {
      mkdirSync(out, { recursive: true });
      rmSync(jsonl, { force: true, recursive: true });
      mkdirSync(jsonl);
    },
    restore: () => rmSync(jsonl, { recursive: true, force: true }),
    close: async () => {},
  };
}
