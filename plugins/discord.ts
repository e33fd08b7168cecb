/**
 * Discord alerts for Firecrawl events: failed jobs and pages, changed monitored pages,
 * monitor check summaries, through a Discord channel webhook.
 *
 *   sinks:
 *     discord:
 *       type: discord
 *       url: ${DISCORD_WEBHOOK_URL}
 *
 * An example of a relay plugin: it uses nothing but `firecrawl-relay/plugin-api`.
 */
import { defineSink, errorText, parseRetryAfter, PermanentError, RetryableError, Type, type RelayEvent } from 'firecrawl-relay/plugin-api';

const RED = 0xe5484d;
const AMBER = 0xf5a524;
const BLUE = 0x3e63dd;

/** Discord refuses an embed over its limits: cut with a marker instead. */
const cut = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

function embedOf(event: RelayEvent): Record<string, unknown> {
  const items = (Array.isArray(event.payload.data) ? event.payload.data : [event.payload.data]) as Array<Record<string, any>>;
  if (event.type === 'monitor.page') {
    const page = items[0] ?? {};
    return {
      title: cut(`Page ${page.status ?? 'checked'}: ${page.url ?? ''}`, 256),
      url: page.url,
      // errorText: an `error` (or reason) may be any JSON, not only a string.
      description: cut(errorText(page.judgment?.reason) ?? errorText(page.error) ?? '', 4096),
      color: AMBER,
    };
  }
  if (event.type === 'monitor.check.completed') {
    const s = items[0]?.summary ?? {};
    return { title: 'Monitor check completed', description: `${s.totalPages ?? 0} pages: ${s.changed ?? 0} changed, ${s.new ?? 0} new, ${s.removed ?? 0} removed`, color: BLUE };
  }
  const error = errorText(event.payload.error) ?? items.map((i) => errorText(i?.metadata?.error)).find((e) => e !== undefined);
  return {
    title: cut(`${event.type} · job ${event.jobId}`, 256),
    description: cut(error ?? (event.success ? 'ok' : 'failed'), 4096),
    color: event.success ? BLUE : RED,
  };
}

export default defineSink({
  type: 'discord',
  // Declared once: ajv checks the options against it at load, and `create` gets its type.
  configSchema: Type.Object(
    {
      url: Type.String({ pattern: '^https?://' }),
      username: Type.String({ minLength: 1, default: 'Firecrawl relay' }),
      timeout_ms: Type.Integer({ minimum: 1, default: 10_000 }),
    },
    { additionalProperties: false },
  ),
  create(options) {
    // Per-event: the relay calls deliver for one event of a job at a time, stops the job at
    // its first failure, runs jobs side by side and aborts `signal` on timeout or shutdown.
    async function deliver(event: RelayEvent, signal: AbortSignal): Promise<void> {
      const response = await fetch(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: options.username, embeds: [embedOf(event)], allowed_mentions: { parse: [] } }),
        signal: AbortSignal.any([signal, AbortSignal.timeout(options.timeout_ms)]),
      }).catch((err: Error) => {
        throw new RetryableError(`Discord unreachable: ${err.message}`);
      });
      if (response.ok) return;
      const text = (await response.text()).slice(0, 200);
      if (response.status === 429 || response.status >= 500) {
        throw new RetryableError(`Discord answered ${response.status}`, { retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) });
      }
      throw new PermanentError(`Discord answered ${response.status}: ${text}`);
    }

    return { deliver };
  },
});
