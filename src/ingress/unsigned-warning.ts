import type { Logger } from 'pino';

/** At most one warning per source this often; the lines in between are counted, not written. */
export const UNSIGNED_WARNING_INTERVAL_MS = 60_000;

/**
 * Warns that a source checking signatures gets webhooks with no signature at all, and how to
 * fix it. Self-hosted Firecrawl signs nothing: without this line the only trace of every
 * webhook it loses is one line in Firecrawl's own log.
 */
export class UnsignedWarning {
  private lastAt = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(private readonly source: string) {}

  /** `logger` is the source's own child logger: its lines carry the source's name. */
  note(logger: Logger): void {
    const now = Date.now();
    if (now - this.lastAt < UNSIGNED_WARNING_INTERVAL_MS) {
      this.suppressed++;
      return;
    }
    logger.warn(
      {
        suppressed: this.suppressed,
        fix:
          `the sender signs nothing (self-hosted Firecrawl does not): give sources.${this.source} token auth, ` +
          'auth: { header: X-Relay-Token, query: token, tokens: ["<token>"] }; for v1/v2 jobs send Firecrawl ' +
          '"webhook": { "url": "<this relay>", "headers": { "X-Relay-Token": "<token>" } }, for v0 jobs set ' +
          'SELF_HOSTED_WEBHOOK_URL=<this relay>?token=<token> (docs/firecrawl.md)',
      },
      'webhook without X-Firecrawl-Signature refused: switch this source to token auth',
    );
    this.lastAt = now;
    this.suppressed = 0;
  }
}
