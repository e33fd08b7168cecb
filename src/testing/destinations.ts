import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startReceiver } from './receiver.js';
import type { ContractDestination } from './sink-contract.js';

type Mode = 'ok' | 'refuse' | 'refuse-once' | 'refuse-permanently' | { slowMs: number };

export interface HttpDestinationOptions {
  /** The sink's options given the receiver's URL, e.g. `(url) => ({ url })`. */
  options: (url: string) => Record<string, unknown>;
  /** `<job id>:<error text>` of the event a request body carries (a sink sending one event per request). */
  eventOf?: (body: string) => string;
  /**
   * Instead of `eventOf`, for a batch sink: `<job id>:<error text>` of every event a request
   * body carries, in order. A request is accepted or refused whole, so the destination
   * offers no `refuseJob` (the partial-failure case is skipped, by name).
   */
  eventsOf?: (body: string) => string[];
  /** The status that tells the sink no retry can help (400 unless given). */
  permanentStatus?: number;
}

/**
 * An HTTP destination (webhook, Slack, Discord, your API…): a real server on 127.0.0.1
 * that answers 200, or 503 while refusing, `permanentStatus` once when refusing for good,
 * and answers late while slowed down (counting the requests the sink gave up on).
 */
export async function httpDestination({ options, eventOf, eventsOf, permanentStatus = 400 }: HttpDestinationOptions): Promise<ContractDestination> {
  const eventsIn = eventsOf ?? ((body: string) => [eventOf!(body)]);
  if (!eventsOf && !eventOf) throw new TypeError('httpDestination expects eventOf (one event per request) or eventsOf (a batch per request), got neither');
  let mode: Mode = 'ok';
  let refusedJob: string | null = null;
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
    if (typeof mode === 'object') return void setTimeout(() => !response.destroyed && answer(503), mode.slowMs).unref();
    if (mode === 'refuse') return answer(503);
    if (mode === 'refuse-once' || mode === 'refuse-permanently') {
      const status = mode === 'refuse-once' ? 503 : permanentStatus;
      mode = 'ok';
      return answer(status);
    }
    const events = eventsIn(request.body.toString());
    if (refusedJob !== null && events.some((event) => event.startsWith(`${refusedJob}:`))) return answer(503);
    accepted.push(...events);
    return answer(200);
  });
  return {
    options: options(`${receiver.url}/hook`),
    received: () => accepted,
    refuse: () => void (mode = 'refuse'),
    refuseOnce: () => void (mode = 'refuse-once'),
    ...(eventsOf ? {} : { refuseJob: (job: string) => void (refusedJob = job) }),
    refusePermanently: () => void (mode = 'refuse-permanently'),
    slowDown: (ms) => void (mode = { slowMs: ms }),
    abandoned: () => abandoned,
    restore: () => {
      mode = 'ok';
      refusedJob = null;
    },
    close: receiver.close,
  };
}

/** The file sink's folder: refused by putting a folder where its JSON Lines file should be. */
export async function fileDestination(dir: string): Promise<ContractDestination> {
  const out = join(dir, 'out');
  const jsonl = join(out, 'events.jsonl');
  return {
    options: { dir: out, markdown: false },
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
