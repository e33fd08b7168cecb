import { describe, expect, it } from 'vitest';
import { toEvent } from './event.js';

const delivery = (body: Buffer) => ({ id: 1, eventId: 1, sink: 's', jobId: 'old-job', attempts: 0, createdAt: 0, receivedAt: 0, source: 'f', type: 'crawl.page', body });

describe('toEvent', () => {
  it('hands sinks a body an older queue stored with its BOM without it (raw and payload)', () => {
    const json = '{"success":true,"type":"crawl.page","id":"old-job","data":[]}';
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)]);
    const event = toEvent(delivery(body));
    expect(event.raw.toString()).toBe(json);
    expect(event.payload.id).toBe('old-job');
  });

  it('hands built-in sinks the stored bytes themselves, not a copy per delivery (plugins get theirs where they are wrapped)', () => {
    const body = Buffer.from('{"success":true,"type":"crawl.page","id":"old-job","data":[]}');
    expect(toEvent(delivery(body)).raw).toBe(body);
  });
});
