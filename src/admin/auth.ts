import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RelayError } from '../errors.js';

/**
 * The admin bearer check: the token from `Authorization: Bearer …`, compared in constant
 * time; never from a URL (it would land in logs and history). '' turns the API off.
 * `onRefused` hears of each request refused for a missing or wrong token.
 */
export function bearerAuth(configured: string, onRefused: (request: FastifyRequest) => void) {
  const token = Buffer.from(configured);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const fail = (error: RelayError) => reply.code(error.statusCode).send(error.toJSON());
    const refuse = (error: RelayError) => {
      onRefused(request);
      fail(error);
    };
    if (token.length === 0) return void fail(new RelayError('RELAY_ERR_ADMIN_DISABLED'));
    const header = request.headers.authorization;
    if (!header?.startsWith('Bearer ')) return void refuse(new RelayError('RELAY_ERR_ADMIN_TOKEN_MISSING'));
    const given = Buffer.from(header.slice('Bearer '.length));
    if (given.length !== token.length || !timingSafeEqual(given, token)) return void refuse(new RelayError('RELAY_ERR_ADMIN_TOKEN_INVALID'));
  };
}
