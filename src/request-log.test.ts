import Fastify, { type FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import { capturedLogger } from '../test/helpers/logs.js';

describe('requests in log lines', () => {
  it("keep their path and lose the query string when Fastify's request logging is on", async () => {
    const { logger, lines } = capturedLogger();
    const app = Fastify({ loggerInstance: logger as FastifyBaseLogger });
    app.post('/hooks/selfhosted', async () => ({ ok: true }));
    await app.inject({ method: 'POST', url: '/hooks/selfhosted?job=1&token=tok-secret-7f3a', payload: {} });
    await app.close();
    const incoming = lines.map((l) => JSON.parse(l) as { msg: string; req?: { method: string; url: string } }).find((l) => l.msg === 'incoming request');
    expect(incoming?.req).toMatchObject({ method: 'POST', url: '/hooks/selfhosted' });
    expect(lines.join('')).not.toContain('tok-secret');
  });

  it('lose the query string wherever a { req } field is logged', () => {
    const { logger, lines } = capturedLogger();
    logger.child({ source: 'selfhosted' }).warn({ req: { method: 'POST', url: '/x?token=tok-secret-7f3a' } }, 'request refused');
    expect(JSON.parse(lines[0]!).req).toEqual({ method: 'POST', url: '/x' });
  });
});
