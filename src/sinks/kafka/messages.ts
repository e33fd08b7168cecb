import type { Message } from 'kafkajs';
import { checkPageCount, compileTemplate, type RelayEvent, type Template, type TemplateScope } from '../../plugin-api/index.js';
import type { KafkaSinkOptions } from './options.js';

export interface KafkaTemplates {
  topic: Template;
  key: Template;
  headers: Array<[string, Template]>;
}

/** Compiles the sink's templates; problems come back with the option they belong to. */
export function compileKafkaTemplates(
  options: KafkaSinkOptions,
): { templates: KafkaTemplates; problems: Array<{ path: string[]; message: string }> } {
  const scope: TemplateScope = options.split === 'data' ? 'item' : 'event';
  const problems: Array<{ path: string[]; message: string }> = [];
  const compile = (path: string[], source: string): Template => {
    const compiled = compileTemplate(source, scope);
    if (typeof compiled === 'string') {
      problems.push({ path, message: compiled });
      return compileTemplate('') as Template;
    }
    return compiled;
  };
  const templates: KafkaTemplates = {
    topic: compile(['topic'], options.topic),
    key: compile(['key'], options.key),
    headers: Object.entries(options.headers).map(([name, source]) => [name, compile(['headers', name], source)]),
  };
  return { templates, problems };
}

export interface TopicMessage {
  topic: string;
  message: Message;
}

/**
 * The Kafka messages of one event: the bytes as received, or (split: data) one JSON
 * message per element of `data` carrying the envelope around it. An event whose `data`
 * is empty or not a list is sent whole even when splitting, so lifecycle events arrive.
 * Throws when a template does not resolve for this event.
 */
export function messagesOf(event: RelayEvent, options: KafkaSinkOptions, templates: KafkaTemplates): TopicMessage[] {
  const data = event.payload.data;
  const elements = options.split === 'data' && Array.isArray(data) && data.length > 0 ? data : null;
  if (elements) checkPageCount(elements.length, options.max_pages_per_event, 'elements of data');
  const render = (item?: unknown, index?: number): TopicMessage => {
    const input = { event, item, index };
    const headers: Record<string, string> = {};
    if (options.default_headers) {
      headers['firecrawl-event-type'] = event.type;
      headers['firecrawl-job-id'] = event.jobId;
      if (typeof event.payload.webhookId === 'string') headers['firecrawl-webhook-id'] = event.payload.webhookId;
      headers['relay-delivery-id'] = event.deliveryId;
    }
    for (const [name, template] of templates.headers) headers[name] = template.renderOrThrow(input);
    let value: Buffer | string = event.raw;
    if (index !== undefined) {
      const { data: _all, ...envelope } = event.payload;
      value = JSON.stringify({ ...envelope, index, data: item });
    }
    return {
      topic: templates.topic.renderOrThrow(input),
      message: { key: templates.key.renderOrThrow(input), value, headers },
    };
  };
  return elements ? elements.map((item, index) => render(item, index)) : [render()];
}
