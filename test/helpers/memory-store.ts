import type {
  ClaimLimits,
  ClaimedLane,
  DeadLetter,
  EnqueueItem,
  EnqueueResult,
  LaneSettlement,
  QueueStore,
  SinkCounters,
  SinkLimit,
  StoredDelivery,
} from '../../src/queue/store.js';

/**
 * A QueueStore in memory, for unit tests of the delivery engine: lanes of (sink, job),
 * backoff, claims and settlements as the contract in store.ts says; no durability.
 */
export class MemoryStore implements QueueStore {
  private nextId = 1;
  private readonly lanes = new Map<string, { sink: string; jobId: string; deliveries: StoredDelivery[]; dueAt: number }>();
  private readonly claimed = new Set<string>();
  private readonly listeners = new Set<(sinks: ReadonlySet<string>) => void>();
  readonly dead: DeadLetter[] = [];
  /** Every settlement, in order. */
  readonly settlements: LaneSettlement[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  async enqueue(item: EnqueueItem): Promise<EnqueueResult> {
    const eventId = this.nextId++;
    for (const sink of item.sinks) {
      const key = `${sink}\u0000${item.jobId}`;
      const lane = this.lanes.get(key) ?? { sink, jobId: item.jobId, deliveries: [], dueAt: this.now() };
      lane.deliveries.push({ id: this.nextId++, eventId, sink, jobId: item.jobId, attempts: 0, createdAt: this.now(), receivedAt: this.now(), source: item.source, type: item.type, body: item.body });
      this.lanes.set(key, lane);
    }
    for (const listener of this.listeners) listener(new Set(item.sinks));
    return { eventId, duplicate: false, parked: [] };
  }

  onEnqueued(listener: (sinks: ReadonlySet<string>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async claim(sink: string, limits: ClaimLimits): Promise<ClaimedLane[]> {
    const due = [...this.lanes.entries()]
      .filter(([key, lane]) => lane.sink === sink && lane.deliveries.length > 0 && lane.dueAt <= this.now() && !this.claimed.has(key))
      .sort(([, a], [, b]) => a.dueAt - b.dueAt || a.deliveries[0]!.id - b.deliveries[0]!.id);
    const out: ClaimedLane[] = [];
    let events = 0;
    let bytes = 0;
    for (const [key, lane] of due) {
      if (out.length >= limits.lanes || events >= limits.events) break;
      const taken: StoredDelivery[] = [];
      for (const d of lane.deliveries) {
        if (events > 0 && (events >= limits.events || bytes + d.body.length > limits.bytes)) break;
        taken.push({ ...d });
        events++;
        bytes += d.body.length;
      }
      if (taken.length === 0) break;
      this.claimed.add(key);
      out.push({ sink, jobId: lane.jobId, deliveries: taken, token: key });
    }
    return out;
  }

  async settle(outcomes: readonly LaneSettlement[]): Promise<void> {
    for (const outcome of outcomes) {
      this.settlements.push(outcome);
      const key = outcome.lane.token;
      const lane = this.lanes.get(key)!;
      this.claimed.delete(key);
      lane.deliveries = lane.deliveries.filter((d) => !outcome.delivered.includes(d.id));
      lane.dueAt = Math.min(lane.dueAt, this.now());
      const failure = outcome.failure;
      if (!failure) continue;
      const head = lane.deliveries.find((d) => d.id === failure.id)!;
      if ('dead' in failure) {
        lane.deliveries = lane.deliveries.filter((d) => d.id !== failure.id);
        this.dead.push({ id: head.id, eventId: head.eventId, sink: head.sink, jobId: head.jobId, type: head.type, attempts: head.attempts + 1, createdAt: head.createdAt, failedAt: this.now(), lastError: failure.error });
      } else {
        if (failure.countAttempt) head.attempts++;
        lane.dueAt = failure.retryAt;
      }
    }
  }

  async nextDueAt(sink: string): Promise<number | null> {
    const times = [...this.lanes.values()].filter((l) => l.sink === sink && l.deliveries.length > 0 && l.dueAt > this.now()).map((l) => l.dueAt);
    return times.length ? Math.min(...times) : null;
  }

  /** Pending deliveries of `sink`, all lanes. */
  pending(sink: string): number {
    return [...this.lanes.values()].filter((l) => l.sink === sink).reduce((n, l) => n + l.deliveries.length, 0);
  }

  setSinkLimits(_limits: ReadonlyMap<string, SinkLimit>): void {}
  async parkSinksExcept(): Promise<Map<string, number>> {
    return new Map();
  }
  readonly deadLetters = {
    list: async () => [...this.dead],
    get: async () => undefined,
    replay: async () => 0,
    replayInChunks: async () => 0,
    drop: async () => 0,
    expire: async () => 0,
  };
  counters(): ReadonlyMap<string, SinkCounters> {
    return new Map();
  }
  usedBytes(): number {
    return 0;
  }
  writable(): { ready: boolean; error: string | null } {
    return { ready: true, error: null };
  }
  async pruneDedupe(): Promise<number> {
    return 0;
  }
  async close(): Promise<void> {}
}
