import type { Logger } from 'pino';
import { Throttle } from '../throttled-log.js';

/** At most one warning per source this often; the lines in between are counted, not written. */
export const UNSIGNED_WARNING_INTERVAL_MS = 60_000;

/**
 * Warns that a source checking signatures gets webhooks with no signature at all, and how to
 * fix it. Self-hosted Firecrawl signs nothing: without this line the only trace of every
 * webhook it loses is one line in Firecrawl's own log.
 */
export class UnsignedWarning {
  private readonly throttle = new Throttle(UNSIGNED_WARNING_INTERVAL_MS);

  constructor(private readonly source: string) {}

  /** `logger` is the source's own child logger: its lines carry the source's name. */
  note(logger: Logger): void {
    const suppressed = this.throttle.pass('unsigned');
    if (suppressed === undefined) return;
    logger.warn(
      {
        suppressed,
        fix:
          `the sender signs nothing (self-hosted Firecrawl does not): give sources.${this.source} token auth, ` +
          'auth: { header: X-Relay-Token, query: token, tokens: ["<token>"] }; for v1/v2 jobs send Firecrawl ' +
          '"webhook": { "url": "<this relay>", "headers": { "X-Relay-Token": "<token>" } }, for v0 jobs set ' +
          'SELF_HOSTED_WEBHOOK_URL=<this relay>?token=<token> (docs/firecrawl.md)',
      },
      'webhook without X-Firecrawl-Signature refused: switch this source to token auth',
    );
  }
}
