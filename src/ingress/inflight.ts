import type { FastifyReply, FastifyRequest } from 'fastify';
import { RelayError } from '../errors.js';

/**
 * Bounds the request bodies held at once (`server.max_inflight_bytes`), and what one
 * remote address may hold of it (`server.max_inflight_bytes_per_peer`). A request
 * reserves its Content-Length (the body limit when it sends none) before its body is
 * read and gives it back once answered or aborted. One request always goes through,
 * and one per peer, so no single body the body limit allows is ever refused for being large.
 */
export class InflightBodies {
  private held = 0;
  private requests = 0;
  /** Bytes and requests each remote address holds; an address holding nothing is not kept. */
  private readonly peers = new Map<string, { bytes: number; requests: number }>();
  private readonly reserved = new WeakMap<FastifyRequest, { bytes: number; peer: string }>();

  constructor(
    private readonly limits: { maxBytes: number; maxBytesPerPeer: number; bodyLimit: number },
    private readonly gauge: { set(bytes: number): void },
  ) {}

  /** Bytes reserved by requests under way. */
  get bytes(): number {
    return this.held;
  }

  /** Reserves room for `request`'s body; returns the error to answer with when there is none. */
  reserve(request: FastifyRequest, reply: FastifyReply): RelayError | null {
    const { maxBytes, maxBytesPerPeer, bodyLimit } = this.limits;
    const declared = Number(request.headers['content-length']);
    const bytes = Number.isSafeInteger(declared) && declared >= 0 ? Math.min(declared, bodyLimit) : bodyLimit;
    // The socket's address, not X-Forwarded-For: a header is the sender's to choose.
    const peer = request.socket.remoteAddress ?? 'unknown';
    const own = this.peers.get(peer) ?? { bytes: 0, requests: 0 };
    if (this.requests > 0 && this.held + bytes > maxBytes) {
      return new RelayError('RELAY_ERR_INGRESS_BUSY', [this.held, maxBytes, bytes]);
    }
    if (own.requests > 0 && own.bytes + bytes > maxBytesPerPeer) {
      return new RelayError('RELAY_ERR_INGRESS_PEER_BUSY', [own.bytes, maxBytesPerPeer, bytes]);
    }
    this.held += bytes;
    this.requests++;
    own.bytes += bytes;
    own.requests++;
    this.peers.set(peer, own);
    this.gauge.set(this.held);
    this.reserved.set(request, { bytes, peer });
    // 'close' comes once the answer is sent or the client went away, whichever happens.
    reply.raw.once('close', () => this.release(request));
    return null;
  }

  private release(request: FastifyRequest): void {
    const reservation = this.reserved.get(request);
    if (reservation === undefined) return;
    this.reserved.delete(request);
    this.held -= reservation.bytes;
    this.requests--;
    const own = this.peers.get(reservation.peer)!;
    own.bytes -= reservation.bytes;
    if (--own.requests === 0) this.peers.delete(reservation.peer);
    this.gauge.set(this.held);
  }
}
