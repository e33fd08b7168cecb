import { randomUUID } from 'node:crypto';
import { RelayError } from '../errors.js';
import { parseEnvelope } from '../ingress/envelope.js';
import type { RelayConfig } from '../config/types.js';
import type { SinkRunner } from '../delivery/sink-runner.js';
import type { RelayMetrics } from '../metrics.js';
import type { QueueStore } from '../queue/store.js';
import { KNOWN_EVENT_TYPES } from '../routing/event-types.js';
import { explainRouting } from '../routing/explain.js';
import { sample } from '../cli/samples.js';
import type { ActivityFeed } from './activity.js';
import type { OperatorDeps } from './operator.js';

export interface RelayView {
  config(): RelayConfig;
  queue: QueueStore;
  metrics: RelayMetrics;
  runners: ReadonlyMap<string, SinkRunner>;
  activity: ActivityFeed;
  setPaused(sink: string, paused: boolean): Promise<void>;
}

/** What the console's admin routes read and do, over the running relay. */
export function relayOperator(relay: RelayView): OperatorDeps {
  return {
    history: relay.queue.history,
    activity: relay.activity,
    sinks() {
      const counters = relay.queue.counters();
      return relay.config().sinks.map((sink) => {
        const runner = relay.runners.get(sink.name);
        return {
          name: sink.name,
          type: sink.type,
          state: runner?.activity() ?? 'disconnected',
          error: runner?.state().error ?? null,
          counters: counters.get(sink.name) ?? { pending: 0, pendingBytes: 0, oldestCreatedAt: null, deadLetters: 0 },
        };
      });
    },
    setPaused: (sink, paused) => relay.setPaused(sink, paused),
    explain: (payload, source) => explainRouting(relay.config().routes, payload, source),
    router: () => relay.config().router,
    async sendTest(type) {
      if (!(KNOWN_EVENT_TYPES as readonly string[]).includes(type)) {
        throw new RelayError('RELAY_ERR_ADMIN_BAD_REQUEST', [`expected a documented event type (${KNOWN_EVENT_TYPES.join(', ')}), got "${type}"`]);
      }
      const config = relay.config();
      // Routed as if the first source had sent it, so routes that name a source behave as for real.
      const source = config.sources[0]?.name ?? 'console';
      // Fresh ids each time: two tests are two jobs, never one merged "whole job" view.
      const fresh = { ...sample(type), id: `test-${randomUUID()}`, webhookId: randomUUID() };
      const { payload, jobId, body, url } = parseEnvelope(Buffer.from(JSON.stringify(fresh)));
      const { sinks } = config.router.match(payload, source);
      const result = await relay.queue.enqueue({ source, type, jobId, dedupeKey: null, body, sinks, url });
      if (result.eventId !== null) relay.activity.emit({ kind: 'received', id: result.eventId, type, jobId, source, at: Date.now() });
      return { eventId: result.eventId, jobId, sinks };
    },
    async receivedByType() {
      // From the store while history keeps events: every replica of a shared store shows the same.
      if (relay.queue.history.enabled) return relay.queue.history.receivedByType(relay.queue.history.cutoff());
      const out: Record<string, number> = {};
      for (const { labels, value } of (await relay.metrics.eventsReceived.get()).values) {
        const type = String(labels.type);
        out[type] = (out[type] ?? 0) + value;
      }
      return out;
    },
    queueBytes: () => ({ used: relay.queue.usedBytes(), max: relay.config().queue.max_bytes }),
  };
}
