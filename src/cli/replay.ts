import type { RelayConfig } from '../config/types.js';
import { RelayError } from '../errors.js';
import { routedTo } from '../routing/routed-to.js';
import { openStore } from '../queue/open-store.js';
import type { EventFilter } from '../queue/store.js';
import { progressLines } from './progress-lines.js';

/** Events queued per transaction: a running relay's ingress commits go in between. */
const CHUNK = 500;

/** `24h`, `90m`, `2d`, `30s` → milliseconds; undefined when it is none of those. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

export interface ReplayArgs {
  sink: string;
  /** ms since epoch */
  since: number;
  type?: string;
  jobId?: string;
  /** Page events whose URL contains this, in any case. */
  url?: string;
  /** Every event of the filter, not only those the current routes send to the sink (`--all-types`). */
  allTypes?: boolean;
}

/** Where progress goes (standard error by default, so standard output keeps the result alone). */
export interface ReplayProgress {
  err?: (line: string) => void;
  clock?: () => number;
}

/**
 * `firecrawl-relay replay --sink S --since 24h [--type T] [--job J] [--all-types]`: queues
 * the stored events of that filter (history) again for one sink, oldest first, beside a
 * running relay or not: only those the routes in force would send it, unless `--all-types`.
 * A sink added today gets yesterday's crawl.
 */
export async function replay(config: RelayConfig, args: ReplayArgs, out: (line: string) => void, now = Date.now(), progress: ReplayProgress = {}): Promise<number> {
  const names = config.sinks.map((s) => s.name);
  if (!names.includes(args.sink)) throw new RelayError('RELAY_ERR_CLI_USAGE', [`replay --sink: no sink named "${args.sink}" (known: ${names.join(', ')})`]);
  const queue = await openStore(config.queue, { dedupeWindowSeconds: 0, history: config.history });
  try {
    const filter: EventFilter = { since: args.since, until: now, type: args.type, jobId: args.jobId, url: args.url };
    const err = progress.err ?? ((line: string) => process.stderr.write(`${line}\n`));
    const report = progressLines(err, (done, total) => `queued ${done} of ~${total} for ${args.sink}`, progress.clock);
    const queued = await queue.history.backfill(args.sink, filter, CHUNK, report, args.allTypes ? undefined : routedTo(config.router, args.sink));
    out(`queued ${queued} event${queued === 1 ? '' : 's'} for ${args.sink}`);
    return queued;
  } finally {
    await queue.close();
  }
}
