import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { capturedLogger } from '../test/helpers/logs.js';
import { configYaml, tempDir, testConfig, testRelay } from '../test/helpers/relay.js';
import { sampleEvent, signedRequest } from '../test/helpers/webhooks.js';
import { lazyRequestLogger } from './lazy-request-logger.js';
import type { Relay } from './relay.js';

/** The lines a request writes through request.log and a child of it, with a given child logger factory. */
async function linesWith(childLoggerFactory?: typeof lazyRequestLogger): Promise<Record<string, unknown>[]> {
  const { logger, lines } = capturedLogger('debug');
  const app = Fastify({ loggerInstance: logger as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), ...(childLoggerFactory && { childLoggerFactory }) });
  app.post('/quiet', async () => ({ ok: true }));
  app.post('/loud', { logLevel: 'warn' }, async (request) => {
    request.log.info({ skipped: true }, 'below the route level');
    request.log.warn({ sink: 'rec', token: 'tok-secret-7f3a' }, 'a warning');
    request.log.child({ step: 'two' }).error('from a child');
    return { ok: true };
  });
  await app.inject({ method: 'POST', url: '/quiet', payload: {} });
  await app.inject({ method: 'POST', url: '/loud', payload: {} });
  await app.close();
  return lines.map((line) => {
    const { time: _time, ...fields } = JSON.parse(line) as Record<string, unknown>;
    return fields;
  });
}

describe('request loggers', () => {
  let relay: Relay | undefined;
  let cleanup = (): void => {};
  afterEach(async () => {
    await relay?.close();
    cleanup();
  });

  it('write the lines a pino child per request writes: reqId, level, fields, redaction, children', async () => {
    const lazy = await linesWith(lazyRequestLogger);
    expect(lazy).toEqual(await linesWith());
    expect(lazy.map((line) => [line.reqId, line.level, line.msg, line.step])).toEqual([
      ['req-2', 40, 'a warning', undefined],
      ['req-2', 50, 'from a child', 'two'],
    ]);
    expect(lazy[0]!.token).toBe('[redacted]');
  });

  it('are not made for a webhook that logs nothing', async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    const { logger } = capturedLogger();
    relay = await testRelay(testConfig(configYaml(tmp.dir, 'sinks: { out: { type: stdout } }\nroutes: [{ name: none, match: { success: false }, to: [out] }]')), undefined, { logger });
    const child = vi.spyOn(logger, 'child');
    const answer = await relay.app.inject(signedRequest(sampleEvent('crawl.page')));
    expect(answer.statusCode).toBe(200);
    expect(child).not.toHaveBeenCalled();
  });
});
