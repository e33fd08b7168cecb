import { afterEach, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { relayEvent } from '../../../test/helpers/webhooks.js';
import type { BatchSink } from '../../plugin-api/index.js';
import stdout from './index.js';

afterEach(() => vi.restoreAllMocks());

describe('stdout sink', () => {
  it('prints the received bytes with format: event, so 1e999 and big integers keep every digit', async () => {
    const printed: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation(((text: string, done?: (err?: Error) => void) => {
      printed.push(text);
      done?.();
      return true;
    }) as typeof process.stdout.write);
    const raw = '{"success":true,"type":"crawl.completed","id":"j",\n"data":[],"metadata":{"n":1e999,"big":12345678901234567890123}}';
    const sink = await stdout.create({ format: 'event' }, { name: 'out', logger: pino({ level: 'silent' }), configDir: '.' });
    await (sink as BatchSink).write([relayEvent(raw)], new AbortController().signal);
    expect(printed).toEqual([`${raw.replace('\n', ' ')}\n`]);
  });
});
