import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startReceiver } from '../helpers/receiver.js';
import type { ContractDestination } from './sink-contract.js';

type Mode = { kind: 'ok' } | { kind: 'refuse' } | { kind: 'refuse-once' } | { kind: 'refuse-permanently' } | { kind: 'slow'; ms: number };

/**
 * An HTTP destination (webhook, Slack, Discord…): a real server on 127.0.0.1 that answers
 * 503 while refusing, `permanentStatus` once when refusing for good, and reads
 * `<job id>:<error text>` with `eventOf` from what it accepted.
 */
export async function httpDestination(options: (url: string) => string, eventOf: (body: string) => string, permanentStatus = 400): Promise<ContractDestination> {
  let mode: Mode = { kind: 'ok' };
  const accepted: string[] = [];
  let abandoned = 0;
  const receiver = await startReceiver((request, response) => {
    response.on('close', () => {
      if (!response.writableEnded) abandoned++;
    });
    const answer = (status: number): void => {
      response.statusCode = status;
      response.end(status === 200 ? 'ok' : 'refused');
    };
    switch (mode.kind) {
      case 'refuse':
        return answer(503);
      case 'refuse-once':
        mode = { kind: 'ok' };
        return answer(503);
      case 'refuse-permanently':
        mode = { kind: 'ok' };
        return answer(permanentStatus);
      case 'slow':
        return void setTimeout(() => !response.destroyed && answer(503), mode.ms).unref();
      case 'ok':
        accepted.push(eventOf(request.body.toString()));
        return answer(200);
    }
  });
  return {
    options: options(`${receiver.url}/hook`),
    received: () => accepted,
    refuse: () => void (mode = { kind: 'refuse' }),
    refuseOnce: () => void (mode = { kind: 'refuse-once' }),
    abandoned: () => abandoned,
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
    received: () =>
      existsSync(jsonl)
        ? readFileSync(jsonl, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
            const event = JSON.parse(l) as { id: string; error: string };
            return `${event.id}:${event.error}`;
          })
        : [],
    refuse: () => {
      mkdirSync(out, { recursive: true });
      rmSync(jsonl, { force: true, recursive: true });
      mkdirSync(jsonl);
    },
    restore: () => rmSync(jsonl, { recursive: true, force: true }),
    close: async () => {},
  };
}
