import { Transform, pipeline, type Readable } from 'node:stream';
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
  // A client that goes away ends the metered stream too; the refusal is answered by Fastify.
  pipeline(body, meter, () => {});
  return meter;
}
