import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError, RetryableError, type EventSink } from '../../plugin-api/index.js';
import { relayEvent } from '../../../test/helpers/webhooks.js';
import s3Sink from './index.js';
import { DEFAULT_JSON_KEY, DEFAULT_MARKDOWN_KEY, type S3SinkOptions } from './options.js';

/** A real HTTP server answering each PUT with the next S3-shaped reply queued. */
let server: Server;
const replies: { status: number; body: string }[] = [];
let sink: EventSink;

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const reply = replies.shift() ?? { status: 200, body: '' };
      response.writeHead(reply.status, { 'content-type': 'application/xml', ...(reply.status === 200 ? { etag: '"abc"' } : {}) });
      response.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const options = {
    bucket: 'b',
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    force_path_style: true,
    access_key_id: 'key',
    secret_access_key: 'secret',
    key: DEFAULT_MARKDOWN_KEY,
    event_key: DEFAULT_JSON_KEY,
    format: 'markdown',
    region: 'us-east-1',
    metadata: {},
    request_timeout_ms: 10_000,
    max_pages_per_event: 10_000,
  } satisfies S3SinkOptions;
  sink = (await s3Sink.create(options, { name: 's3', logger: pino({ level: 'silent' }), configDir: '/' })) as EventSink;
});
afterAll(async () => {
  await sink?.close?.();
  await new Promise((resolve) => server?.close(resolve));
});

const event = relayEvent({ success: true, type: 'crawl.started', id: 'job-1', data: [] });
const deliverAnswered = async (status: number, body: string): Promise<unknown> => {
  replies.push({ status, body });
  return sink.deliver(event, new AbortController().signal).catch((error: unknown) => error);
};
const xmlError = (inner: string) => `<?xml version="1.0" encoding="UTF-8"?><Error>${inner}<RequestId>r-1</RequestId></Error>`;

describe('S3 responses recorded in attempts', () => {
  it('resolves a written object with the HTTP status, for the attempt history', async () => {
    expect(await deliverAnswered(200, '')).toEqual({ statusCode: 200 });
  });

  it('dead-letters a 403 AccessDenied with its status, code and message', async () => {
    const error = await deliverAnswered(403, xmlError('<Code>AccessDenied</Code><Message>Access Denied</Message>'));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ statusCode: 403, message: 'S3 AccessDenied (HTTP 403): Access Denied' });
  });

  it('reads a nested XML <Message> as text, never "[object Object]"', async () => {
    const error = await deliverAnswered(400, xmlError('<Code>InvalidArgument</Code><Message><Detail>header x-amz-meta-a is too long</Detail></Message>'));
    expect(error).toMatchObject({ statusCode: 400, message: 'S3 InvalidArgument (HTTP 400): header x-amz-meta-a is too long' });
  });

  it('names a bare 431 by its status instead of "UnknownError"', async () => {
    const error = await deliverAnswered(431, '');
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ statusCode: 431, message: 'S3 error without a code (HTTP 431)' });
  });

  it('retries a bare 503 and keeps its status', async () => {
    // The SDK itself tries twice (maxAttempts: 2): both answers are 503.
    replies.push({ status: 503, body: '' });
    const error = await deliverAnswered(503, '');
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ statusCode: 503, message: 'S3 error without a code (HTTP 503)' });
  });
});
