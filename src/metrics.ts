import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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

  readonly deliveries = new Counter({
    name: 'relay_deliveries_total',
    help: 'Delivery attempts by sink and outcome (delivered, retried, dead_lettered).',
    labelNames: ['sink', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly deliveryDuration = new Histogram({
    name: 'relay_delivery_duration_seconds',
    help: 'Time a sink took to write one batch.',
    labelNames: ['sink'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
