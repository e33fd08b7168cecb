import { IncomingWebhook, IncomingWebhookHTTPError, type IncomingWebhookSendArguments } from '@slack/webhook';
import { compileTemplate, defineSink, parseRetryAfter, PermanentError, RetryableError, Type, type RelayEvent, type Static, type Template } from '../../plugin-api/index.js';
import { cut, escapeTemplateValue, slackMessage, type SlackMessage } from './blocks.js';
import { unusableUrl, withoutUrls } from '../secret-url.js';

/** The Slack sink's options: the schema validated at load, and (Static) their type. */
const SLACK_OPTIONS_SCHEMA = Type.Object(
  {
    /** The incoming-webhook URL: a secret, read it with ${SLACK_WEBHOOK_URL}. */
    url: Type.String({ pattern: '^https?://' }),
    /** monitor.page statuses that send an alert (`same` does not by default). */
    monitor_statuses: Type.Array(Type.String(), { default: ['changed', 'new', 'removed', 'error'] }),
    /** Replaces the built-in layout with one section of this template (event variables). */
    template: Type.Optional(Type.String({ minLength: 1 })),
    username: Type.Optional(Type.String({ minLength: 1 })),
    icon_emoji: Type.Optional(Type.String({ pattern: '^:[a-z0-9_+-]+:$' })),
    timeout_ms: Type.Integer({ minimum: 1, default: 10_000 }),
  },
  { additionalProperties: false },
);

export type SlackSinkOptions = Static<typeof SLACK_OPTIONS_SCHEMA>;


export default defineSink({
  type: 'slack',
  configSchema: SLACK_OPTIONS_SCHEMA,
  check(options) {
    const badUrl = unusableUrl(options.url);
    if (badUrl.length > 0) return badUrl;
    if (options.template === undefined) return [];
    const compiled = compileTemplate(options.template, 'event');
    return typeof compiled === 'string' ? [{ path: ['template'], message: compiled }] : [];
  },
  // Slack documents about one message per second per incoming webhook, short bursts allowed.
  deliveryDefaults: { max_in_flight: 1, rate_limit: { per_second: 1, burst: 3 } },
  create(options, ctx) {
    // Values from the payload are escaped; the template's own text is the operator's markup.
    const template = options.template === undefined ? undefined : (compileTemplate(options.template, 'event', escapeTemplateValue) as Template);
    const identity = {
      ...(options.username ? { username: options.username } : {}),
      ...(options.icon_emoji ? { icon_emoji: options.icon_emoji } : {}),
    };

    /**
     * One IncomingWebhook per post: its fetch carries this delivery's abort signal, and
     * keeps the Retry-After header that IncomingWebhookHTTPError does not.
     */
    const post = async (message: SlackMessage, signal: AbortSignal): Promise<void> => {
      let retryAfter: string | null = null;
      const webhook = new IncomingWebhook(options.url, {
        ...identity,
        timeout: options.timeout_ms,
        fetch: async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
          const response = await fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
          retryAfter = response.headers.get('retry-after');
          return response;
        },
      });
      try {
        // Blocks are plain Block Kit JSON built within Slack's limits (blocks.ts).
        await webhook.send(message as unknown as IncomingWebhookSendArguments);
      } catch (err) {
        if (!(err instanceof IncomingWebhookHTTPError)) {
          // Not the cause: its message and stack quote the URL, which is the credential.
          throw new RetryableError(`Slack unreachable: ${withoutUrls((err as Error).message, options.url)}`);
        }
        const reason = `Slack answered HTTP ${err.statusCode}${err.body ? `: ${err.body.slice(0, 200)}` : ''}`;
        if (err.statusCode === 429 || err.statusCode >= 500) {
          throw new RetryableError(reason, { retryAfterMs: parseRetryAfter(retryAfter) });
        }
        throw new PermanentError(reason);
      }
    };

    const messageFor = (event: RelayEvent): SlackMessage | null => {
      if (!template) return slackMessage(event, options.monitor_statuses);
      const text = cut(template.renderOrThrow({ event }), 3000);
      return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
    };

    return {
      async deliver(event, signal) {
        let message: SlackMessage | null;
        try {
          message = messageFor(event);
        } catch (err) {
          // A template that cannot render this event fails this event only, for good.
          throw new PermanentError((err as Error).message);
        }
        if (!message) return;
        await post(message, signal);
        ctx.logger.debug('alert sent');
      },
    };
  },
});
