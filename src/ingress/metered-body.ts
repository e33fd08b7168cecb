import type { IncomingMessage } from 'node:http';
import { errorCodes, type FastifyRequest } from 'fastify';
import type { InflightBodies } from './inflight.js';

type Done = (error: Error | null, body?: Buffer) => void;

/** The largest JSON body of a request that is not a webhook: the admin API's selections are a few KB. */
export const UNADMITTED_BODY_LIMIT = 1024 * 1024;

/**
 * A content-type parser that reads the request body into one Buffer, charging each chunk to
 * `inflight` as it arrives, before it is kept: a chunk that finds no room ends the body with
 * a 503. Otherwise Fastify's own buffer parser (the same errors for a body over `limit`, a
 * Content-Length the body does not match, a request that fails), without a stream per request
 * between the socket and the parser.
 */
export function meteredBodyParser(inflight: InflightBodies, webhookLimit: number) {
  return (request: FastifyRequest, payload: IncomingMessage, done: Done): void => {
    // A body no source admitted (the admin API, a path that does not exist) is not charged
    // to the in-flight budget: it is kept small instead, so it cannot hold memory unmetered.
    const limit = inflight.admitted(request) ? webhookLimit : Math.min(webhookLimit, UNADMITTED_BODY_LIMIT);
    const declared = Number(request.headers['content-length']);
    if (declared > limit) return done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
    const chunks: Buffer[] = [];
    let received = 0;

    const stop = (): void => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
    };
    function onData(chunk: Buffer): void {
      const busy = inflight.charge(request, chunk.length);
      if (busy !== null) {
        stop();
        // Nothing more is read: the 503 closes the connection.
        payload.pause();
        return done(busy);
      }
      received += chunk.length;
      if (received > limit) {
        stop();
        return done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      }
      chunks.push(chunk);
    }
    function onEnd(): void {
      stop();
      if (!Number.isNaN(declared) && received !== declared) return done(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      // A copy, never a view of the socket's read buffer.
      done(null, Buffer.concat(chunks, received));
    }
    function onError(error: Error & { statusCode?: number }): void {
      stop();
      // A request that failed (the client went away) is the sender's: a 400, as Fastify answers it.
      if (!(typeof error.statusCode === 'number' && error.statusCode >= 400)) error.statusCode = 400;
      done(error);
    }

    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
    payload.resume();
  };
}
