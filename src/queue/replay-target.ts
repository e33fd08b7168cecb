import type { RelayConfig } from '../config/types.js';
import { RelayError } from '../errors.js';

/**
 * Refuses a dead-letter replay to a sink the relay would park again within a minute (its
 * deliveries become dead letters at start, reload and each prune): one disabled or not configured.
 */
export function assertReplayTarget(config: Pick<RelayConfig, 'sinks' | 'disabledSinks'>, sink: string | undefined): void {
  if (sink === undefined) return;
  if (config.disabledSinks.includes(sink)) {
    throw new RelayError('RELAY_ERR_QUEUE_REPLAY_SINK_UNAVAILABLE', [sink, 'it is disabled (enabled: false); enable it, then replay']);
  }
  if (!config.sinks.some((s) => s.name === sink)) {
    const known = config.sinks.map((s) => s.name).join(', ') || 'none';
    throw new RelayError('RELAY_ERR_QUEUE_REPLAY_SINK_UNAVAILABLE', [sink, `no sink of that name is configured (configured: ${known})`]);
  }
}
