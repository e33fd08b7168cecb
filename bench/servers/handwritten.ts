/**
 * Baseline (b): what a user writes by hand from Firecrawl's docs: verify the HMAC of the
 * raw body (timing-safe), parse it, answer 200. No durability, no routing.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import Fastify from 'fastify';

const secret = process.env.FIRECRAWL_WEBHOOK_SECRET ?? '';
const app = Fastify({ bodyLimit: 32 * 1024 * 1024 });
app.removeAllContentTypeParsers();
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_r, body, done) => done(null, body));
app.post('/webhooks/firecrawl', async (request, reply) => {
  const signature = request.headers['x-firecrawl-signature'];
  if (typeof signature !== 'string') return reply.code(401).send('Unauthorized');
  const [algorithm, hash = ''] = signature.split('=');
  if (algorithm !== 'sha256') return reply.code(401).send('Invalid signature algorithm');
  const expected = createHmac('sha256', secret).update(request.body as Buffer).digest('hex');
  const given = Buffer.from(hash, 'hex');
  if (given.length !== 32 || !timingSafeEqual(given, Buffer.from(expected, 'hex'))) return reply.code(401).send('Invalid signature');
  JSON.parse((request.body as Buffer).toString('utf8'));
  return { ok: true };
});
const address = await app.listen({ host: '127.0.0.1', port: 0 });
console.log(JSON.stringify({ listening: address }));
