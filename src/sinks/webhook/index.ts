import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { defineSink, parseRetryAfter, PermanentError, RetryableError, type OptionProblem, type RelayEvent, type DeliverResult } from '../../plugin-api/index.js';
import { movedOptions } from '../moved-options.js';
import { unusableUrl, withoutUrls } from '../secret-url.js';
import { WEBHOOK_OPTIONS_SCHEMA, type WebhookSinkOptions } from './options.js';
import { deliveryIdOf, firecrawlSignature, standardKey, standardSignatures } from './signing.js';

/** Firecrawl's own promise to receivers: retries after 1, 5 and 15 minutes. */
const FIRECRAWL_SCHEDULE_MS = [60_000, 300_000, 900_000];

function secretsOf(options: WebhookSinkOptions): string[] {
  const { secret, secrets } = options.signature;
  // An unset `${OLD_SECRET:-}` rotation slot leaves an empty string: skip it.
  return [...(secret ? [secret] : []), ...(secrets ?? [])].filter((s) => s !== '');
}

function check(options: WebhookSinkOptions): OptionProblem[] {
  const moved = movedOptions(options);
  if (moved.length > 0) return moved;
  const badUrl = unusableUrl(options.url);
  if (badUrl.length > 0) return badUrl;
  const { scheme } = options.signature;
  if (scheme === 'none') return [];
  const secrets = secretsOf(options);
  if (secrets.length === 0) return [{ path: ['signature'], message: `expected a secret (or secrets) for the ${scheme} scheme, got none` }];
  if (scheme === 'standard') {
    return secrets
      .map((s, i) => ({ s, i }))
      .filter(({ s }) => standardKey(s) === null)
      .map(({ i }) => ({ path: ['signature', options.signature.secret && i === 0 ? 'secret' : 'secrets'], message: 'expected a Standard Webhooks secret "whsec_<base64 of at least 16 bytes>", got another form' }));
  }
  return [];
}


export default defineSink({
  type: 'webhook',
  configSchema: WEBHOOK_OPTIONS_SCHEMA,
  retryDefaults: { schedule_ms: FIRECRAWL_SCHEDULE_MS, max_attempts: FIRECRAWL_SCHEDULE_MS.length + 1 },
  check,
  create(options, ctx) {
    const secrets = secretsOf(options);
    const standardKeys = options.signature.scheme === 'standard' ? secrets.map((s) => standardKey(s)!) : [];
    // Connections follow the relay's max_in_flight: one request per lane at a time.
    const agent = new Agent({ keepAliveTimeout: 30_000 });
    const dispatcher: Dispatcher =
      options.follow_redirects > 0 ? agent.compose(interceptors.redirect({ maxRedirections: options.follow_redirects })) : agent;

    const bodyOf = (event: RelayEvent): Buffer => {
      if (options.body === 'original') return event.raw;
      const metadata = { ...event.payload.metadata, ...options.body.metadata };
      return Buffer.from(JSON.stringify({ ...event.payload, metadata }));
    };

    async function deliver(event: RelayEvent, signal: AbortSignal): Promise<DeliverResult> {
      const body = bodyOf(event);
      const id = deliveryIdOf(ctx.name, event);
      const headers: Record<string, string> = {
        'user-agent': 'firecrawl-relay',
        ...options.headers,
        'content-type': 'application/json',
      };
      switch (options.signature.scheme) {
        case 'firecrawl':
          headers['x-firecrawl-signature'] = firecrawlSignature(secrets[0]!, body);
          headers['x-relay-delivery-id'] = id;
          break;
        case 'standard': {
          const timestamp = Math.floor(Date.now() / 1000);
          headers['webhook-id'] = id;
          headers['webhook-timestamp'] = String(timestamp);
          headers['webhook-signature'] = standardSignatures(standardKeys, id, timestamp, body);
          break;
        }
        case 'none':
          headers['x-relay-delivery-id'] = id;
      }
      let response: Dispatcher.ResponseData;
      try {
        response = await request(options.url, {
          method: 'POST',
          headers,
          body,
          dispatcher,
          signal: AbortSignal.any([signal, AbortSignal.timeout(options.timeout_ms)]),
        });
      } catch (err) {
        // Not the cause: its message and stack may quote the URL, which may hold a token.
        throw new RetryableError(`POST failed: ${withoutUrls((err as Error).message, options.url)}`);
      }
      const text = (await response.body.text().catch(() => '')).slice(0, 200);
      const status = response.statusCode;
      if (status >= 200 && status < 300) return { statusCode: status };
      const reason = `receiver answered HTTP ${status}${text ? `: ${text}` : ''}`;
      if (status === 410) throw new PermanentError(`${reason} (410 Gone: the receiver asked for no more deliveries)`, { statusCode: status });
      if (status === 429) throw new RetryableError(reason, { retryAfterMs: parseRetryAfter(response.headers['retry-after']), statusCode: status });
      if (status >= 300 && status < 400) {
        throw new RetryableError(`${reason}, redirect to ${String(response.headers.location ?? '?')} not followed (set follow_redirects)`, { statusCode: status });
      }
      throw new RetryableError(reason, { statusCode: status });
    }

    return {
      // The relay runs one event of a job at a time and jobs side by side (max_in_flight).
      deliver,
      async close() {
        await agent.close();
      },
    };
  },
});
