/**
 * Bodies of events just committed, by event id, so that a sink that keeps up reads its
 * deliveries without reading the bodies back from the database (for a 5 KB page that read
 * was the largest part of a claim). Bounded by bytes, oldest out first; an event's entry
 * goes when the event is deleted. A miss reads the database: the cache is only a shortcut.
 */
export class BodyCache {
  private readonly bodies = new Map<number, Buffer>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(eventId: number): Buffer | undefined {
    return this.bodies.get(eventId);
  }

  add(eventId: number, body: Buffer): void {
    if (cost(body) > this.maxBytes) return;
    this.bodies.set(eventId, body);
    this.bytes += cost(body);
    for (const [id, old] of this.bodies) {
      if (this.bytes <= this.maxBytes) break;
      this.bodies.delete(id);
      this.bytes -= cost(old);
    }
  }

  delete(eventId: number): void {
    const body = this.bodies.get(eventId);
    if (!body) return;
    this.bodies.delete(eventId);
    this.bytes -= cost(body);
  }
}

/** What holding a body keeps alive: a small Buffer may be a slice of an 8 KiB pool slab. */
const cost = (body: Buffer): number => body.buffer.byteLength;
