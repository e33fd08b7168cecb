import type { FastifyInstance } from 'fastify';
import { RelayError } from '../errors.js';
import type { OperatorDeps } from './operator.js';
import { audit } from './audit.js';
import { sinkParams } from './schemas.js';
import { overviewReplies, pauseReplies, sinksReplies } from './sink-schemas.js';

const HOUR_MS = 3_600_000;

/** GET /admin/overview and /admin/sinks; POST /admin/sinks/:name/pause and /resume. */
export function registerSinkRoutes(admin: FastifyInstance, deps: OperatorDeps, now: () => number): void {
  const sinksJson = () =>
    deps.sinks().map((s) => ({
      name: s.name,
      type: s.type,
      state: s.state,
      error: s.error,
      pending: s.counters.pending,
      pending_bytes: s.counters.pendingBytes,
      oldest_pending_age_ms: s.counters.oldestCreatedAt === null ? null : Math.max(0, now() - s.counters.oldestCreatedAt),
      dead_letters: s.counters.deadLetters,
    }));

  admin.get('/admin/sinks', { schema: { summary: 'Each sink: state, pending, oldest pending age, dead letters', response: sinksReplies } }, async () => ({ sinks: sinksJson() }));

  admin.get('/admin/overview', { schema: { summary: 'Sinks, delivered and failed per minute over the last hour, queue bytes, events per type', response: overviewReplies } }, async () => {
    const since = now() - HOUR_MS;
    return {
      sinks: sinksJson(),
      activity: (await deps.history.activity(since)).map((m) => ({ sink: m.sink, minute: new Date(m.minute).toISOString(), delivered: m.delivered, failed: m.failed })),
      queue: { used_bytes: deps.queueBytes().used, max_bytes: deps.queueBytes().max },
      received_by_type: await deps.receivedByType(),
      history: deps.history.enabled,
    };
  });

  const known = (name: string): void => {
    const names = deps.sinks().map((s) => s.name);
    if (!names.includes(name)) throw new RelayError('RELAY_ERR_ADMIN_SINK_UNKNOWN', [name, names.join(', ')]);
  };
  for (const action of ['pause', 'resume'] as const) {
    admin.post(`/admin/sinks/:name/${action}`, { schema: { summary: `${action === 'pause' ? 'Pause' : 'Resume'} a sink (events keep queueing while paused)`, params: sinkParams, response: pauseReplies } }, async (request) => {
      const { name } = request.params as { name: string };
      known(name);
      await deps.setPaused(name, action === 'pause');
      audit(request, `sink.${action}`, { sink: name }, action === 'pause' ? 'sink paused' : 'sink resumed');
      return { sink: name, paused: action === 'pause' };
    });
  }
}
