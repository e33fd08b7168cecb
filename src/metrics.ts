import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SinkCounters } from './queue/store.js';

/** What the queue gauges read at each scrape: maintained counters, never a scan. */
export interface QueueSnapshot {
  counters: ReadonlyMap<string, SinkCounters>;
  bytes: number;
  now: number;
  sinksUp: ReadonlyMap<string, boolean>;
}

/**
 * The relay's metrics, on a registry of its own (so several relays can live in one
 * process, as in tests). Names carry their unit, Prometheus-style.
 */
export class RelayMetrics {
  readonly registry = new Registry();

  readonly eventsReceived = new Counter({
    name: 'relay_events_received_total',
    help: 'Webhooks accepted and stored, by source and event type (unknown types as "other").',
    labelNames: ['source', 'type'] as const,
    registers: [this.registry],
  });

  readonly eventsRejected = new Counter({
    name: 'relay_events_rejected_total',
    help: 'Webhooks refused, by source and error code.',
    labelNames: ['source', 'code'] as const,
    registers: [this.registry],
  });

  readonly webhooksUnsigned = new Counter({
    name: 'relay_webhooks_unsigned_total',
    help: 'Webhooks refused by a source that checks signatures because they carried none (self-hosted Firecrawl signs nothing: use token auth).',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  readonly eventsDuplicate = new Counter({
    name: 'relay_events_duplicate_total',
    help: 'Webhooks acknowledged without delivery because they were seen within the dedupe window.',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  readonly eventsUnknownType = new Counter({
    name: 'relay_events_unknown_type_total',
    help: 'Accepted webhooks whose type Firecrawl does not document (yet).',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  readonly eventsUnrouted = new Counter({
    name: 'relay_events_unrouted_total',
    help: 'Accepted webhooks that matched no route.',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  readonly ingressInflightBytes = new Gauge({
    name: 'relay_ingress_inflight_bytes',
    help: 'Request body bytes reserved by webhooks being received and checked (server.max_inflight_bytes bounds it).',
    registers: [this.registry],
  });

  readonly deliveries = new Counter({
    name: 'relay_deliveries_total',
    help: 'Delivery attempts by sink and outcome (delivered, retried, dead_lettered).',
    labelNames: ['sink', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly deadLettersParked = new Counter({
    name: 'relay_dead_letters_parked_total',
    help: 'Deliveries made dead letters without an attempt, by sink and reason (sink_removed, sink_disabled, sink_full).',
    labelNames: ['sink', 'reason'] as const,
    registers: [this.registry],
  });

  readonly deadLettersExpired = new Counter({
    name: 'relay_dead_letters_expired_total',
    help: 'Dead letters dropped: reason "age" past dead_letters.retention_seconds, "bytes" past dead_letters.max_bytes.',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  readonly deliveryDuration = new Histogram({
    name: 'relay_delivery_duration_seconds',
    help: 'Time a sink took for one write (a batch, or one event of a per-event sink).',
    labelNames: ['sink'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
    registers: [this.registry],
  });

  private logDrops: () => number = () => 0;

  readonly logLinesDropped = (() => {
    const read = (): number => this.logDrops();
    return new Counter({
      name: 'relay_log_lines_dropped_total',
      help: 'Log lines lost because the log destination failed (closed pipe, full disk) or stayed full.',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  })();

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Reads the log destination's dropped lines at each scrape. */
  observeLogDrops(read: () => number): void {
    this.logDrops = read;
  }

  /** Queue and sink gauges, read from `snapshot` when Prometheus scrapes. */
  observe(snapshot: () => QueueSnapshot): void {
    let current: { at: number; value: QueueSnapshot } | null = null;
    // One snapshot serves all gauges of one scrape (the queue is read once, not five
    // times): the first gauge of a scrape takes it, the others reuse it.
    const read = (fresh: boolean): QueueSnapshot => {
      const now = Date.now();
      if (fresh || !current || now - current.at > 100) current = { at: now, value: snapshot() };
      return current.value;
    };
    let first = true;
    const gauge = (name: string, help: string, fill: (g: Gauge<'sink'>, s: QueueSnapshot) => void, labelNames: ['sink'] | [] = ['sink']): void => {
      const fresh = first;
      first = false;
      new Gauge({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          this.reset();
          fill(this as Gauge<'sink'>, read(fresh));
        },
      });
    };
    gauge('relay_queue_pending', 'Deliveries waiting in the queue, by sink.', (g, s) => {
      for (const sink of s.sinksUp.keys()) g.set({ sink }, 0);
      for (const [sink, c] of s.counters) if (c.pending > 0 || s.sinksUp.has(sink)) g.set({ sink }, c.pending);
    });
    gauge('relay_queue_pending_bytes', 'Body bytes of the deliveries waiting, by sink (max_pending_bytes bounds it).', (g, s) => {
      for (const sink of s.sinksUp.keys()) g.set({ sink }, 0);
      for (const [sink, c] of s.counters) if (c.pending > 0 || s.sinksUp.has(sink)) g.set({ sink }, c.pendingBytes);
    });
    gauge('relay_queue_oldest_pending_seconds', 'Age of the oldest waiting delivery, by sink.', (g, s) => {
      for (const [sink, c] of s.counters) if (c.oldestCreatedAt !== null) g.set({ sink }, Math.max(0, (s.now - c.oldestCreatedAt) / 1000));
    });
    gauge('relay_dead_letters', 'Deliveries parked in the dead-letter queue, by sink.', (g, s) => {
      for (const sink of s.sinksUp.keys()) g.set({ sink }, 0);
      for (const [sink, c] of s.counters) if (c.deadLetters > 0 || s.sinksUp.has(sink)) g.set({ sink }, c.deadLetters);
    });
    gauge('relay_sink_up', '1 when the sink is up (its healthcheck, else its last write), 0 when its deliveries wait.', (g, s) => {
      for (const [sink, up] of s.sinksUp) g.set({ sink }, up ? 1 : 0);
    });
    gauge('relay_queue_bytes', 'Bytes the queue database uses (bounded by queue.max_bytes).', (g, s) => (g as unknown as Gauge).set(s.bytes), []);
  }
}
