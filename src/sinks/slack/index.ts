import { IncomingWebhook, IncomingWebhookHTTPError, type IncomingWebhookSendArguments } from '@slack/webhook';
import { compileTemplate, defineSink, parseRetryAfter, PermanentError, RetryableError, type Template, type WriteResult } from '../../plugin-api/index.js';
import { cut, escapeMrkdwn, slackMessage, type SlackMessage } from './blocks.js';

export interface SlackSinkOptions {
  /** The incoming-webhook URL: a secret, read it with ${SLACK_WEBHOOK_URL}. */
  url: string;
  /** monitor.page statuses that send an alert (`same` does not by default). */
  monitor_statuses: string[];
  /** Replaces the built-in layout with one section of this template (event variables). */
  template?: string;
  username?: string;
  icon_emoji?: string;
  timeout_ms: number;
}


export default defineSink<SlackSinkOptions>({
  type: 'slack',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['url'],
    properties: {
      url: { type: 'string', pattern: '^https?://' },
      monitor_statuses: { type: 'array', items: { type: 'string' }, default: ['changed', 'new', 'removed', 'error'] },
      template: { type: 'string', minLength: 1 },
      username: { type: 'string', minLength: 1 },
      icon_emoji: { type: 'string', pattern: '^:[a-z0-9_+-]+:$' },
      timeout_ms: { type: 'integer', minimum: 1, default: 10_000 },
    },
  },
  check(options) {
    if (options.template === undefined) return [];
    const compiled = compileTemplate(options.template, 'event');
    return typeof compiled === 'string' ? [{ path: ['template'], message: compiled }] : [];
  },
  create(options, ctx) {
    // Values from the payload are escaped; the template's own text is the operator's markup.
    const template = options.template === undefined ? undefined : (compileTemplate(options.template, 'event', escapeMrkdwn) as Template);
    // @slack/webhook throws on non-2xx without the headers: keep Retry-After from the response.
    let retryAfter: string | null = null;
    const webhook = new IncomingWebhook(options.url, {
      ...(options.username ? { username: options.username } : {}),
      ...(options.icon_emoji ? { icon_emoji: options.icon_emoji } : {}),
      timeout: options.timeout_ms,
      fetch: async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
        const response = await fetch(input, init);
        retryAfter = response.headers.get('retry-after');
        return response;
      },
    });

    const messageFor = (event: Parameters<typeof slackMessage>[0]): SlackMessage | null => {
      if (!template) return slackMessage(event, options.monitor_statuses);
      const text = cut(template.renderOrThrow({ event }), 3000);
      return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
    };

    return {
      async write(batch): Promise<WriteResult> {
        const failed: Array<{ index: number; error: unknown }> = [];
        let sent = 0;
        // One message at a time, in order: alerts of a job read top to bottom.
        for (const [index, event] of batch.entries()) {
          let message: SlackMessage | null;
          try {
            message = messageFor(event);
          } catch (err) {
            failed.push({ index, error: new PermanentError((err as Error).message) });
            continue;
          }
          if (!message) continue;
          try {
            retryAfter = null;
            // Blocks are plain Block Kit JSON built within Slack's limits (blocks.ts).
            await webhook.send(message as unknown as IncomingWebhookSendArguments);
            sent++;
          } catch (err) {
            if (err instanceof IncomingWebhookHTTPError) {
              const reason = `Slack answered HTTP ${err.statusCode}${err.body ? `: ${err.body.slice(0, 200)}` : ''}`;
              if (err.statusCode === 429 || err.statusCode >= 500) {
                failed.push({ index, error: new RetryableError(reason, { retryAfterMs: parseRetryAfter(retryAfter) }) });
              } else failed.push({ index, error: new PermanentError(reason) });
            } else failed.push({ index, error: new RetryableError((err as Error).message) });
          }
        }
        ctx.logger.debug({ count: batch.length, sent, failed: failed.length }, 'alerts sent');
        return { failed };
      },
    };
  },
});
