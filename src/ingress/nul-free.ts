import { RelayError } from '../errors.js';

/** The envelope fields stored as text (job id, dedupe key): PostgreSQL refuses U+0000 in text. */
const STORED_AS_TEXT = ['id', 'jobId', 'webhookId'] as const;

/** Refuses (400) an envelope whose id, jobId or webhookId holds a NUL character. */
export function assertNoNulInIds(envelope: object): void {
  for (const field of STORED_AS_TEXT) {
    const value = (envelope as Record<string, unknown>)[field];
    if (typeof value === 'string' && value.includes('\u0000')) {
      throw new RelayError('RELAY_ERR_INGRESS_ENVELOPE_INVALID', [`"${field}" must not contain a NUL character (\\u0000), got one`]);
    }
  }
}
