import type { HistoryStore, SinkCounters } from '../queue/store.js';
import type { RouteExplanation } from '../routing/explain.js';
import type { Router } from '../routing/router.js';
import type { FirecrawlPayload } from '../plugin-api/types.js';
import type { ActivityFeed } from './activity.js';

/** A sink as the console shows it. */
export interface SinkOverview {
  name: string;
  type: string;
  state: 'delivering' | 'paused' | 'failing' | 'disconnected';
  error: string | null;
  counters: SinkCounters;
}

/** What the console's admin routes need of the running relay. */
export interface OperatorDeps {
  history: HistoryStore;
  activity: ActivityFeed;
  sinks(): SinkOverview[];
  setPaused(sink: string, paused: boolean): Promise<void>;
  explain(payload: FirecrawlPayload, source: string): RouteExplanation[];
  /** The routes in force now (a backfill sends a sink only what they would send it). */
  router(): Router;
  /** Accepts a sample webhook of `type` (fresh job id) as if a source had sent it; returns its event id (null: no route). */
  sendTest(type: string): Promise<{ eventId: number | null; jobId: string; sinks: string[] }>;
  /** Webhooks accepted since start, per event type. */
  receivedByType(): Promise<Record<string, number>>;
  queueBytes(): { used: number; max: number };
}
