import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { withoutQuery } from '../request-log.js';

// console/ sits at the package root: two levels above both src/console and dist/console.
const ASSETS_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

/**
 * No inline script or style, nothing from another origin: payload text that slipped into
 * markup still could not run. The page talks to /admin only.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const isPage = (path: string) => path === '/console' || path === '/console/' || path === '/console/index.html';

/**
 * /console: the operator console, static files shipped in the package (no CDN: it works
 * offline). The files hold no data; everything shown comes from /admin with the token the
 * login form keeps in sessionStorage.
 */
export function registerConsole(app: FastifyInstance): void {
  app.register(async (console) => {
    console.addHook('onSend', async (request, reply) => {
      reply.header('content-security-policy', CONSOLE_CSP);
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
      // The page is never kept; scripts and styles may be, revalidated on each load.
      reply.header('cache-control', isPage(withoutQuery(request.url)) ? 'no-store' : 'no-cache');
    });
    console.get('/console', (_request, reply) => reply.redirect('/console/'));
    await console.register(fastifyStatic, { root: ASSETS_DIR, prefix: '/console/', index: 'index.html' });
  });
}
