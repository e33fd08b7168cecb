import { EventEmitter } from 'node:events';

/** What the live console hears of: events accepted, deliveries settled, backfill progress. */
export type ActivityNotice =
  | { kind: 'received'; id: number; type: string; jobId: string; source: string; at: number }
  | { kind: 'settled'; sink: string; delivered: number; failed: number; at: number }
  | { kind: 'backfill'; sink: string; done: number; total: number; at: number }
  | { kind: 'replay'; done: number; total: number; at: number };

/**
 * In-process notices for the admin SSE stream. Listeners are the open streams; with none
 * open, emitting costs a property read. Notices carry ids and names, never payloads.
 */
export class ActivityFeed {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per open console tab.
    this.emitter.setMaxListeners(0);
  }

  emit(notice: ActivityNotice): void {
    if (this.emitter.listenerCount('notice') > 0) this.emitter.emit('notice', notice);
  }

  /** Open streams, for tests and metrics. */
  listening(): number {
    return this.emitter.listenerCount('notice');
  }

  subscribe(listener: (notice: ActivityNotice) => void): () => void {
    this.emitter.on('notice', listener);
    return () => this.emitter.off('notice', listener);
  }
}
