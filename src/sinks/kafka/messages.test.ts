import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../plugin-api/index.js';
import { relayEvent } from '../../../test/helpers/webhooks.js';
import { compileKafkaTemplates, messagesOf } from './messages.js';
import type { KafkaSinkOptions } from './options.js';

const OPTIONS: KafkaSinkOptions = {
  brokers: ['k:9092'],
  client_id: 'c',
  topic: 't',
  key: '{{id}}',
  headers: {},
  default_headers: false,
  split: 'data',
  compression: 'none',
  acks: -1,
  connection_timeout_ms: 1,
  request_timeout_ms: 1,
  ssl: false,
  max_pages_per_event: 3,
};

describe('kafka split: data bound', () => {
  const event = (count: number) => relayEvent({ success: true, type: 'crawl.page', id: 'j', data: Array.from({ length: count }, (_, i) => ({ i })) });
  const { templates } = compileKafkaTemplates(OPTIONS);

  it('splits an event up to max_pages_per_event elements', () => {
    expect(messagesOf(event(3), OPTIONS, templates)).toHaveLength(3);
  });

  it('refuses one element more with a PermanentError', () => {
    expect(() => messagesOf(event(4), OPTIONS, templates)).toThrow(new PermanentError('event has 4 elements of data, over max_pages_per_event (3)'));
  });

  it('sends a large event whole when not splitting', () => {
    expect(messagesOf(event(4), { ...OPTIONS, split: 'none' }, templates)).toHaveLength(1);
  });
});
