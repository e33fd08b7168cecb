import pg from 'pg';

/** The channel one queue's replicas share: one per schema, so two queues on one database stay apart. */
export function channelFor(schema: string | undefined): string {
  return `firecrawl_relay_${(schema ?? 'public').toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
}

/** Below PostgreSQL's limit on a NOTIFY payload (8,000 bytes). */
const MAX_PAYLOAD_BYTES = 7_900;

export interface WakeupOptions {
  config: pg.ClientConfig;
  channel: string;
  replica: string;
  /** Called with the sinks another replica (or the CLI) gave work to. */
  wake: (sinks: ReadonlySet<string>) => void;
  /** Called on every poll tick: the fallback when notifications are lost or off. */
  poll: () => void;
  /** Poll period while LISTEN works, and while it does not. */
  pollMs?: { listening: number; deaf: number };
  /** Notifications arriving within this window wake once (default 20 ms). */
  coalesceMs?: number;
}

/**
 * Wake-ups across replicas: a commit that gives a sink work sends NOTIFY in its own
 * transaction (delivered only if it commits); every replica LISTENs on one dedicated
 * connection. Polling is the fallback: slow while listening, fast while the connection is
 * down (it reconnects by itself), so a lost notification costs a delay, never an event.
 */
export class Wakeups {
  private client: pg.Client | null = null;
  private listening = false;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private reconnect: NodeJS.Timeout | null = null;
  private readonly pollMs: { listening: number; deaf: number };
  /** Sinks named by notifications not yet passed on; null while none wait. */
  private heard: Set<string> | null = null;

  constructor(private readonly options: WakeupOptions) {
    this.pollMs = options.pollMs ?? { listening: 5_000, deaf: 1_000 };
  }

  start(): void {
    void this.connect();
    this.schedulePoll();
  }

  isListening(): boolean {
    return this.listening;
  }

  /**
   * The NOTIFY payload: who sent it, and which sinks. PostgreSQL refuses one of 8,000 bytes
   * or more: past that (many or long sink names) it names no sink and every replica polls.
   */
  static payload(replica: string, sinks: Iterable<string>): string {
    const named = JSON.stringify({ r: replica, s: [...sinks] });
    return Buffer.byteLength(named) < MAX_PAYLOAD_BYTES ? named : JSON.stringify({ r: replica, s: [], all: true });
  }

  /**
   * Every commit on every replica notifies; passing each on would make each replica run a
   * claim per commit of every other one, a cost per event that grows with the replica count.
   * Notifications of one short window wake once, with the union of their sinks.
   */
  private coalesce(sinks: readonly string[]): void {
    if (this.heard) {
      for (const sink of sinks) this.heard.add(sink);
      return;
    }
    this.heard = new Set(sinks);
    setTimeout(() => {
      const heard = this.heard!;
      this.heard = null;
      if (!this.closed) this.options.wake(heard);
    }, this.options.coalesceMs ?? 20).unref();
  }

  private schedulePoll(): void {
    if (this.closed) return;
    this.timer = setTimeout(
      () => {
        this.options.poll();
        this.schedulePoll();
      },
      this.listening ? this.pollMs.listening : this.pollMs.deaf,
    );
    this.timer.unref();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client(this.options.config);
    this.client = client;
    const lost = (): void => {
      if (this.client !== client) return;
      this.listening = false;
      this.client = null;
      client.end().catch(() => undefined);
      if (!this.closed) {
        this.reconnect = setTimeout(() => void this.connect(), 1_000);
        this.reconnect.unref();
      }
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (message) => {
      try {
        const { r, s, all } = JSON.parse(message.payload ?? '') as { r: string; s: string[]; all?: boolean };
        if (r === this.options.replica) return;
        if (all) this.options.poll();
        else if (s.length > 0) this.coalesce(s);
      } catch {
        // not ours
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.options.channel}`);
      if (this.client !== client) return;
      this.listening = true;
      // Anything sent while we were not listening: look once.
      this.options.poll();
    } catch {
      lost();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.reconnect) clearTimeout(this.reconnect);
    const client = this.client;
    this.client = null;
    this.listening = false;
    await client?.end().catch(() => undefined);
  }
}
