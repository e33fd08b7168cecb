import type { FastifyReply, FastifyRequest } from 'fastify';
import { RelayError } from '../errors.js';

/**
 * Bounds the request bodies held at once (`server.max_inflight_bytes`), and what one
 * remote address may hold of it (`server.max_inflight_bytes_per_peer`). A request is
 * charged the bytes of its body as they arrive, not the Content-Length it declares, so
 * an idle connection holds nothing; the charge is given back once answered or aborted.
 * The one request holding bytes always goes on, and one per peer, so no body the body
 * limit allows is ever refused for being large (the config guarantees body limit ≤ share ≤
 * budget). An address holding nothing else gets one request through even when other
 * addresses fill the budget, as long as what is held past it stays within one more share:
 * held ≤ the budget + the per-peer share + one chunk per request.
 */
export class InflightBodies {
  private held = 0;
  /** Bytes each remote address holds; an address with no request under way is not kept. */
  private readonly peers = new Map<string, { bytes: number; requests: number }>();
  private readonly charged = new WeakMap<FastifyRequest, { bytes: number; peer: string }>();

  constructor(
    private readonly limits: { maxBytes: number; maxBytesPerPeer: number },
    private readonly gauge: { set(bytes: number): void },
  ) {}

  /** Whether `error` is this class's refusal: room comes back as soon as a body is answered. */
  static refused(error: RelayError): boolean {
    return error.code === 'RELAY_ERR_INGRESS_BUSY' || error.code === 'RELAY_ERR_INGRESS_PEER_BUSY';
  }

  /** Bytes of bodies received by requests under way. */
  get bytes(): number {
    return this.held;
  }

  /** Starts counting `request`'s body; nothing is charged until its bytes arrive. */
  admit(request: FastifyRequest, reply: FastifyReply): void {
    // The socket's address, not X-Forwarded-For: a header is the sender's to choose.
    const peer = request.socket.remoteAddress ?? 'unknown';
    const own = this.peers.get(peer) ?? { bytes: 0, requests: 0 };
    own.requests++;
    this.peers.set(peer, own);
    this.charged.set(request, { bytes: 0, peer });
    // 'close' comes once the answer is sent or the client went away, whichever happens.
    reply.raw.once('close', () => this.release(request));
  }

  /** Whether a source admitted `request` (its body is charged here). */
  admitted(request: FastifyRequest): boolean {
    return this.charged.has(request);
  }

  /** Charges `bytes` more of `request`'s body; returns the error to answer with when there is no room. */
  charge(request: FastifyRequest, bytes: number): RelayError | null {
    const mine = this.charged.get(request);
    if (mine === undefined) return null;
    const own = this.peers.get(mine.peer)!;
    const { maxBytes, maxBytesPerPeer } = this.limits;
    // Others hold bytes (not only this request): past the limit, this one waits its turn,
    // unless its address holds nothing else and the overflow stays within one more share
    // (addresses each within their share could otherwise fill the budget for everyone).
    const overBudget = this.held > mine.bytes && this.held + bytes > maxBytes;
    const firstOfItsPeer = own.bytes === mine.bytes && this.held + bytes <= maxBytes + maxBytesPerPeer;
    if (overBudget && !firstOfItsPeer) {
      return new RelayError('RELAY_ERR_INGRESS_BUSY', [this.held, maxBytes, bytes]);
    }
    if (own.bytes > mine.bytes && own.bytes + bytes > maxBytesPerPeer) {
      return new RelayError('RELAY_ERR_INGRESS_PEER_BUSY', [own.bytes, maxBytesPerPeer, bytes]);
    }
    mine.bytes += bytes;
    own.bytes += bytes;
    this.held += bytes;
    this.gauge.set(this.held);
    return null;
  }

  private release(request: FastifyRequest): void {
    const mine = this.charged.get(request);
    if (mine === undefined) return;
    this.charged.delete(request);
    this.held -= mine.bytes;
    const own = this.peers.get(mine.peer)!;
    own.bytes -= mine.bytes;
    if (--own.requests === 0) this.peers.delete(mine.peer);
    this.gauge.set(this.held);
  }
}
