import type { FastifyReply, FastifyRequest } from 'fastify';
import { RelayError } from '../errors.js';

/**
 * Bounds the request bodies held at once (`server.max_inflight_bytes`). A request
 * reserves its Content-Length (the body limit when it sends none) before its body is
 * read and gives it back once answered or aborted. One request always goes through, so
 * no single body the body limit allows is ever refused for being large.
 */
export class InflightBodies {
  private held = 0;
  private requests = 0;
  private readonly reserved = new WeakMap<FastifyRequest, number>();

  constructor(
    private readonly maxBytes: number,
    private readonly bodyLimit: number,
    private readonly gauge: { set(bytes: number): void },
  ) {}

  /** Bytes reserved by requests under way. */
  get bytes(): number {
    return this.held;
  }

  /** Reserves room for `request`'s body; returns the error to answer with when there is none. */
  reserve(request: FastifyRequest, reply: FastifyReply): RelayError | null {
    const declared = Number(request.headers['content-length']);
    const bytes = Number.isSafeInteger(declared) && declared >= 0 ? Math.min(declared, this.bodyLimit) : this.bodyLimit;
    if (this.requests > 0 && this.held + bytes > this.maxBytes) {
      return new RelayError('RELAY_ERR_INGRESS_BUSY', [this.held, this.maxBytes, bytes]);
    }
    this.held += bytes;
    this.requests++;
    this.gauge.set(this.held);
    this.reserved.set(request, bytes);
    // 'close' comes once the answer is sent or the client went away, whichever happens.
    reply.raw.once('close', () => this.release(request));
    return null;
  }

  private release(request: FastifyRequest): void {
    const bytes = this.reserved.get(request);
    if (bytes === undefined) return;
    this.reserved.delete(request);
    this.held -= bytes;
    this.requests--;
    this.gauge.set(this.held);
  }
}
