import { Transform, type Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { InflightBodies } from './inflight.js';

/**
 * The request body as a stream that charges each chunk to `inflight` as it arrives
 * (Fastify's preParsing hook reads the body from it). A chunk that finds no room ends
 * the body with a 503 before it is kept.
 */
export function meteredBody(inflight: InflightBodies, request: FastifyRequest, reply: FastifyReply, body: Readable): Readable {
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const busy = inflight.charge(request, chunk.length);
      if (busy === null) return done(null, chunk);
      reply.header('retry-after', '1');
      done(busy);
    },
  });
  // Not pipeline(): on a refusal it would destroy the request, and the socket with it,
  // before Fastify's 503 is written. A client that goes away still ends the metered stream.
  body.pipe(meter);
  body.once('error', (err) => meter.destroy(err));
  body.once('aborted', () => meter.destroy(new Error('request aborted')));
  meter.once('error', () => body.unpipe(meter));
  return meter;
}
