import type { FirecrawlPayload } from '../plugin-api/types.js';

/**
 * Payloads the ingress just parsed and normalised, by event id, so that sinks that keep up
 * are handed them without parsing the stored body again (once per sink). Bounded by the
 * bodies' bytes; the oldest go first. A miss costs only a parse of the stored body.
 */
export class PayloadCache {
  private readonly entries = new Map<number, { payload: FirecrawlPayload; bytes: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes = 16 * 1024 * 1024) {}

  set(eventId: number, payload: FirecrawlPayload, bytes: number): void {
    if (bytes > this.maxBytes) return;
    this.entries.set(eventId, { payload, bytes });
    this.bytes += bytes;
    for (const [id, entry] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(id);
      this.bytes -= entry.bytes;
    }
  }

  get(eventId: number): FirecrawlPayload | undefined {
    return this.entries.get(eventId)?.payload;
  }

  /**
   * Once every sink is done with the event. Dropped then, a payload dies young: held until
   * the bound pushed it out, every one outlived a scavenge and was copied into the old
   * generation (GC time per event, measured in docs/benchmarks.md).
   */
  delete(eventId: number): void {
    const entry = this.entries.get(eventId);
    if (!entry) return;
    this.entries.delete(eventId);
    this.bytes -= entry.bytes;
  }
}
