/** Baseline (a): a Fastify route that reads the body and answers 200. The ceiling for Node HTTP here. */
import Fastify from 'fastify';

const app = Fastify({ bodyLimit: 32 * 1024 * 1024 });
app.removeAllContentTypeParsers();
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_r, body, done) => done(null, body));
app.post('/webhooks/firecrawl', async () => ({ ok: true }));
const address = await app.listen({ host: '127.0.0.1', port: 0 });
console.log(JSON.stringify({ listening: address }));
