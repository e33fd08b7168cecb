import { describe, expect, it } from 'vitest';
import { parseEnvelope } from './envelope.js';

const body = (fields: Record<string, unknown>): Buffer => Buffer.from(JSON.stringify({ success: true, type: 'crawl.page', data: [], ...fields }));

describe('envelope ids with a NUL character', () => {
  it.each([
    ['id', { id: 'job\u0000x' }],
    ['jobId', { jobId: 'job\u0000x' }],
    ['webhookId', { id: 'job', webhookId: 'w\u0000' }],
  ])('refuses a NUL in "%s" with a 400 that names the field', (field, fields) => {
    expect(() => parseEnvelope(body(fields))).toThrow(
      expect.objectContaining({ code: 'RELAY_ERR_INGRESS_ENVELOPE_INVALID', statusCode: 400, message: expect.stringContaining(`"${field}" must not contain a NUL`) }),
    );
  });

  it('accepts a NUL elsewhere in the payload (the body is stored as bytes)', () => {
    expect(parseEnvelope(body({ id: 'job', data: [{ markdown: 'a\u0000b' }] })).jobId).toBe('job');
  });
});
