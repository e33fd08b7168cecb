import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RelayError } from '../errors.js';

/** RFC 7235: the scheme is case-insensitive (`bearer`, `BEARER`), then one or more spaces. */
const BEARER = /^bearer +(\S.*)$/i;

/**
 * The admin bearer check: the token from `Authorization: Bearer …`, compared in constant
 * time; never from a URL (it would land in logs and history). '' turns the API off.
 * `onRefused` hears of each request refused for a missing or wrong token.
 */
export function bearerAuth(configured: string, onRefused: (request: FastifyRequest) => void) {
  // Both sides are compared as HMACs under a key of this process: equal lengths always, so
  // neither the compare nor an early return on length tells how long the token is.
  const key = randomBytes(32);
  const digest = (text: string) => createHmac('sha256', key).update(text).digest();
  const expected = digest(configured);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const fail = (error: RelayError) => reply.code(error.statusCode).send(error.toJSON());
    const refuse = (error: RelayError) => {
      onRefused(request);
      fail(error);
    };
    if (configured.length === 0) return void fail(new RelayError('RELAY_ERR_ADMIN_DISABLED'));
    const given = BEARER.exec(request.headers.authorization ?? '')?.[1];
    if (given === undefined) return void refuse(new RelayError('RELAY_ERR_ADMIN_TOKEN_MISSING'));
    if (!timingSafeEqual(digest(given), expected)) return void refuse(new RelayError('RELAY_ERR_ADMIN_TOKEN_INVALID'));
  };
}
