import type { LaneSettlement } from '../queue/store.js';

interface Waiting {
  settlement: LaneSettlement;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Held settlements (a per-event sink's lanes, one delivered event each) asked for in one
 * turn of the event loop, recorded together in one store transaction once the turn's I/O
 * was seen (setImmediate), as the enqueue committer groups commits. Each caller still
 * waits for its own record before writing its lane's next event, so a relay killed
 * meanwhile repeats at most the one event in flight per lane; a failed transaction fails
 * every settlement in it (none was recorded).
 */
export class SettleGroup {
  private waiting: Waiting[] = [];

  constructor(private readonly settle: (settlements: readonly LaneSettlement[]) => Promise<void>) {}

  add(settlement: LaneSettlement): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ settlement, resolve, reject });
      if (this.waiting.length === 1) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    const group = this.waiting;
    this.waiting = [];
    try {
      await this.settle(group.map((w) => w.settlement));
    } catch (err) {
      for (const w of group) w.reject(err);
      return;
    }
    for (const w of group) w.resolve();
  }
}
