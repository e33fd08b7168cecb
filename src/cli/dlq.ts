import { deadLetterView } from '../queue/dead-letter-view.js';
import { openStore } from '../queue/open-store.js';
import type { DeadLetterFilter } from '../queue/store.js';
import type { RelayConfig } from '../config/types.js';
import { RelayError } from '../errors.js';
import { assertReplayTarget } from '../queue/replay-target.js';

export interface DlqArgs {
  action: string;
  ids: number[];
  filter: DeadLetterFilter;
  all: boolean;
}

/** The ids after `dlq ACTION`: whole numbers, as `dlq list` prints them; anything else is refused, not dropped. */
export function deadLetterIds(action: string, words: readonly string[]): number[] {
  const bad = words.filter((word) => !/^\d+$/.test(word));
  if (bad.length > 0) {
    throw new RelayError('RELAY_ERR_CLI_USAGE', [`expected dlq ${action} ids as whole numbers (the first column of dlq list), got ${bad.map((w) => `"${w}"`).join(', ')}`]);
  }
  return words.map(Number);
}

/** A progress bar on standard error, when it is a terminal. */
function progress(done: number, total: number): void {
  if (!process.stderr.isTTY || total < 1000) return;
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total} replayed${done === total ? '\n' : ''}`);
}

/** `firecrawl-relay dlq list|show|replay|drop` on the queue (folder or database), with or without a running relay. */
export async function dlq(config: RelayConfig, args: DlqArgs, out: (line: string) => void): Promise<void> {
  if (args.action === 'replay') assertReplayTarget(config, args.filter.sink);
  const queue = await openStore(config.queue, { dedupeWindowSeconds: 0 });
  try {
    const letters = queue.deadLetters;
    const filter: DeadLetterFilter = args.ids.length ? { ...args.filter, ids: args.ids } : args.filter;
    const narrowed = args.ids.length > 0 || Object.values(args.filter).some((v) => v !== undefined);
    switch (args.action) {
      case 'list': {
        const rows = await letters.list(filter);
        for (const r of rows) {
          out(`${r.id}\t${r.sink}\t${r.type}\t${r.jobId}\tattempts=${r.attempts}\t${new Date(r.failedAt).toISOString()}\t${r.lastError ?? ''}`);
        }
        out(`${rows.length} dead letter${rows.length === 1 ? '' : 's'}`);
        return;
      }
      case 'show': {
        for (const id of args.ids) {
          const letter = await letters.get(id);
          if (!letter) out(`${id}: no such dead letter`);
          else out(JSON.stringify(deadLetterView(letter), null, 2));
        }
        return;
      }
      case 'replay':
      case 'drop': {
        if (!narrowed && !args.all) {
          throw new RelayError('RELAY_ERR_CLI_USAGE', [`dlq ${args.action} needs ids, a filter (--sink, --type, --job, --since) or --all`]);
        }
        const count = args.action === 'replay' ? await letters.replayInChunks(filter, 1000, progress) : await letters.drop(filter);
        out(`${args.action === 'replay' ? 'replayed' : 'dropped'} ${count} dead letter${count === 1 ? '' : 's'}`);
        return;
      }
      default:
        throw new RelayError('RELAY_ERR_CLI_USAGE', [`unknown dlq action "${args.action}" (known: list, show, replay, drop)`]);
    }
  } finally {
    await queue.close();
  }
}
