import type { YamlSource } from './yaml-document.js';

interface InflightSettings {
  body_limit_bytes: number;
  max_inflight_bytes: number;
  max_inflight_bytes_per_peer?: number;
}

/**
 * `max_inflight_bytes_per_peer` as it applies: a quarter of the budget, but at least one body
 * (so a lone request always fits its peer's share, and the share bounds what one request
 * holds). A body limit the budget or the share cannot hold is refused at load: such a body
 * would either be refused at every try or let one request pass both bounds.
 */
export function inflightPerPeer(source: YamlSource, server: InflightSettings): number {
  const { body_limit_bytes: body, max_inflight_bytes: budget, max_inflight_bytes_per_peer: written } = server;
  if (body > budget) {
    source.report('RELAY_ERR_CONFIG_INVALID', ['server', 'body_limit_bytes'], [
      `expected server.body_limit_bytes at most server.max_inflight_bytes (${budget}), got ${body}: a body that large could never be held`,
    ]);
  }
  if (written !== undefined && written < body) {
    source.report('RELAY_ERR_CONFIG_INVALID', ['server', 'max_inflight_bytes_per_peer'], [
      `expected server.max_inflight_bytes_per_peer at least server.body_limit_bytes (${body}), got ${written}: one body must fit one address's share`,
    ]);
  }
  if (written !== undefined && written > budget) {
    source.report('RELAY_ERR_CONFIG_INVALID', ['server', 'max_inflight_bytes_per_peer'], [
      `expected server.max_inflight_bytes_per_peer at most server.max_inflight_bytes (${budget}), got ${written}`,
    ]);
  }
  return written ?? Math.min(budget, Math.max(Math.floor(budget / 4), body));
}
