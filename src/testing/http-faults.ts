import type { ServerResponse } from 'node:http';
import type { ContractDestination } from './sink-contract.js';

type Mode = 'ok' | 'refuse' | 'refuse-once' | 'refuse-permanently' | { slowMs: number };

/** What to do with one request: refuse it with a status, hold it back, or let it through. */
export type Verdict = { refuse: number } | { slowMs: number } | 'pass';

/**
 * The faults the contract asks of an HTTP destination, shared by `httpDestination` (which
 * answers itself) and `faultProxy` (which passes requests on): refuse (503), refuse once,
 * refuse for good (`permanentStatus` once), refuse one job's requests, slow down, and a
 * count of the requests the sink gave up on before they were answered.
 */
export function httpFaults(permanentStatus: number) {
  let mode: Mode = 'ok';
  let refusedJob: string | null = null;
  let abandoned = 0;
  return {
    /** Counts `response` as abandoned if its client goes before it is answered. */
    watch(response: ServerResponse): void {
      response.on('close', () => {
        if (!response.writableEnded) abandoned++;
      });
    },
    /** The verdict on a request carrying `events` (`<job>:<text>`; none for a HEAD, a list…). */
    verdict(events: readonly string[]): Verdict {
      if (typeof mode === 'object') return { slowMs: mode.slowMs };
      if (mode === 'refuse') return { refuse: 503 };
      if (events.length > 0 && (mode === 'refuse-once' || mode === 'refuse-permanently')) {
        const status = mode === 'refuse-once' ? 503 : permanentStatus;
        mode = 'ok';
        return { refuse: status };
      }
      if (refusedJob !== null && events.some((event) => event.startsWith(`${refusedJob}:`))) return { refuse: 503 };
      return 'pass';
    },
    controls: {
      refuse: () => void (mode = 'refuse'),
      refuseOnce: () => void (mode = 'refuse-once'),
      refuseJob: (job: string) => void (refusedJob = job),
      refusePermanently: () => void (mode = 'refuse-permanently'),
      slowDown: (ms: number) => void (mode = { slowMs: ms }),
      abandoned: () => abandoned,
      restore: () => {
        mode = 'ok';
        refusedJob = null;
      },
    } satisfies Partial<ContractDestination>,
  };
}
