/**
 * Gathers what is asked in one event-loop turn and hands it over as one group (one
 * transaction); while a group runs, the next one forms. setImmediate, not a microtask:
 * requests read in the same turn of the loop join the group.
 */
export class GroupCommit<T> {
  private waiting: T[] = [];
  private running: Promise<void> | null = null;

  constructor(private readonly run: (group: T[]) => Promise<void>) {}

  add(item: T): void {
    this.waiting.push(item);
    if (!this.running) this.running = new Promise((done) => setImmediate(() => void this.drain().finally(done)));
  }

  /** Resolves once nothing is waiting or running. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    while (this.waiting.length > 0) {
      const group = this.waiting;
      this.waiting = [];
      await this.run(group);
    }
    this.running = null;
  }
}
