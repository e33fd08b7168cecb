import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { httpFaults } from './http-faults.js';
import { startReceiver } from './receiver.js';
import type { ContractDestination } from './sink-contract.js';

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
  const faults = httpFaults(permanentStatus);
  const accepted: string[] = [];
  const receiver = await startReceiver((request, response) => {
    faults.watch(response);
    const answer = (status: number): void => {
      response.statusCode = status;
      response.end(status === 200 ? 'ok' : 'refused');
    };
    const events = eventsIn(request.body.toString());
    const verdict = faults.verdict(events);
    if (verdict !== 'pass') {
      if ('refuse' in verdict) return answer(verdict.refuse);
      return void setTimeout(() => !response.destroyed && answer(503), verdict.slowMs).unref();
    }
    accepted.push(...events);
    return answer(200);
  });
  // A batched request is accepted or refused whole: no refusing one job of it.
  const { refuseJob, ...controls } = faults.controls;
  return {
    options: options(`${receiver.url}/hook`),
    received: () => accepted,
    ...controls,
    ...(eventsOf ? {} : { refuseJob }),
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
