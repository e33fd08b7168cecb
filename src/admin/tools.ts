import type { FastifyInstance } from 'fastify';
import { RelayError } from '../errors.js';
import { routedTo } from '../routing/routed-to.js';
import type { OperatorDeps } from './operator.js';
import { audit, filterForAudit } from './audit.js';
import { backfillBody, testEventBody } from './schemas.js';
import { backfillReplies, testEventReplies } from './tool-schemas.js';
import { eventFilterOf } from './events.js';
import { RunningBackfills } from './running-backfills.js';

/** Events queued per backfill transaction: short, so ingress commits go in between. */
const BACKFILL_CHUNK = 500;

/** POST /admin/test-event (a sample accepted as if sent) and POST /admin/backfill (past events into one sink). */
export function registerToolRoutes(admin: FastifyInstance, deps: OperatorDeps): void {
  const running = new RunningBackfills();
  admin.post('/admin/test-event', { schema: { summary: 'Accept a sample webhook of a type; see where it goes', body: testEventBody, response: testEventReplies } }, async (request) => {
    const { type } = request.body as { type: string };
    const { eventId, jobId, sinks } = await deps.sendTest(type);
    audit(request, 'test_event', { count: eventId === null ? 0 : 1, type, event_id: eventId, job_id: jobId, sinks }, 'test event sent');
    return { event_id: eventId, job_id: jobId, sinks };
  });

  admin.post('/admin/backfill', { schema: { summary: 'Queue stored events matching a filter for one sink; progress on /admin/stream', body: backfillBody, response: backfillReplies } }, async (request) => {
    const body = request.body as { sink: string; since: string; until?: string; type?: string; job?: string; url?: string; ignore_routes?: boolean };
    const names = deps.sinks().map((s) => s.name);
    if (!names.includes(body.sink)) throw new RelayError('RELAY_ERR_ADMIN_SINK_UNKNOWN', [body.sink, names.join(', ')]);
    const filter = eventFilterOf({ since: body.since, until: body.until, type: body.type, job: body.job, url: body.url });
    const queued = await running.run(body, () =>
      deps.history.backfill(
        body.sink,
        filter,
        BACKFILL_CHUNK,
        (done, total) => deps.activity.emit({ kind: 'backfill', sink: body.sink, done, total, at: Date.now() }),
        body.ignore_routes ? undefined : routedTo(deps.router(), body.sink),
      ),
    );
    audit(request, 'backfill', { sink: body.sink, count: queued, filter: filterForAudit(filter), ignore_routes: body.ignore_routes === true }, 'events backfilled');
    return { sink: body.sink, queued };
  });
}
