/** One line per peer per window at most, whatever the rate of refused requests. */
const WINDOW_MS = 60_000;
/** Past this many peers in a window, the rest are counted together (memory stays bounded). */
const MAX_PEERS = 10_000;
const OTHER_PEERS = 'other peers';

/**
 * Counts refused admin requests per peer. The first refusal of a peer is reported at once
 * (count 1: an attack shows when it starts); later ones in the same minute are counted and
 * reported together when the minute ends, so a peer guessing tokens costs one line a minute.
 */
export class FailedLogins {
  private readonly peers = new Map<string, { count: number; timer: NodeJS.Timeout }>();

  constructor(private readonly report: (peer: string, count: number) => void) {}

  record(address: string): void {
    const peer = this.peers.has(address) || this.peers.size < MAX_PEERS ? address : OTHER_PEERS;
    const entry = this.peers.get(peer);
    if (entry) {
      entry.count++;
      return;
    }
    this.report(peer, 1);
    this.open(peer);
  }

  /** Reports what is counted and forgets every peer (at close). */
  stop(): void {
    for (const [peer, { count, timer }] of this.peers) {
      clearTimeout(timer);
      if (count > 0) this.report(peer, count);
    }
    this.peers.clear();
  }

  private open(peer: string): void {
    const timer = setTimeout(() => this.close(peer), WINDOW_MS);
    timer.unref();
    this.peers.set(peer, { count: 0, timer });
  }

  private close(peer: string): void {
    const count = this.peers.get(peer)?.count ?? 0;
    this.peers.delete(peer);
    if (count === 0) return;
    this.report(peer, count);
    this.open(peer);
  }
}
