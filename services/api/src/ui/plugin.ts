import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { KeyStore } from '@labelq/access';
import { LabelqError } from '@labelq/errors';
import type { ClassifyQueue } from '@labelq/queue';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { APP_CSS, APP_JS, ICON_SVG } from './assets.ts';
import { renderPage } from './pages.ts';

export interface UiOptions {
  queue: ClassifyQueue;
  /** API keys; undefined with AUTH_DISABLED (then bull-board is open like everything else). */
  keys: KeyStore | undefined;
}

/** Pages and their assets: same-origin script and style only, no inline code, nothing framed. */
const PAGE_CSP =
  "default-src 'none';script-src 'self';style-src 'self';img-src 'self' blob:;connect-src 'self';" +
  "form-action 'self';base-uri 'none';frame-ancestors 'none'";
/** bull-board's own UI injects inline configuration and styles. */
const BULL_BOARD_CSP =
  "default-src 'self';script-src 'self' 'unsafe-inline';style-src 'self' 'unsafe-inline';" +
  "img-src 'self' data:;font-src 'self' data:;base-uri 'none';frame-ancestors 'none'";

/** The key of a bull-board request: Basic (any user name, the key as password: what a browser prompts for) or Bearer. */
function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization ?? '';
  const basic = /^Basic\s+(\S+)$/i.exec(header);
  if (basic?.[1] !== undefined) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    return decoded.slice(decoded.indexOf(':') + 1) || undefined;
  }
  return /^Bearer\s+(\S+)$/i.exec(header)?.[1];
}

/**
 * `/ui`: the dashboard (overview, recent results with their boxes, batches with live progress, the review queue), server-rendered shells filled by one small
 * script from the `/v1` API with the key the login keeps in sessionStorage; and bull-board at `/ui/queues/` for
 * raw queue inspection, for `operator` keys only. bull-board's pages and their XHRs cannot carry a key from
 * sessionStorage, so it asks with HTTP Basic authentication (the key as the password), which the browser then
 * sends with each of its requests.
 */
export const uiPlugin: FastifyPluginAsync<UiOptions> = async (app, { queue, keys }) => {
  for (const [path, page] of [
    ['/', 'overview'],
    ['/gallery', 'gallery'],
    ['/reviews', 'reviews'],
    ['/batches', 'batches'],
    // One shell for every batch: the script reads the id from the path.
    ['/batches/:id', 'batch'],
    ['/login', 'login'],
  ] as const) {
    app.get(path, { schema: { hide: true } }, (_request, reply) =>
      reply
        .header('content-security-policy', PAGE_CSP)
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(renderPage(page)),
    );
  }
  app.get('/assets/app.js', { schema: { hide: true } }, (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(APP_JS),
  );
  app.get('/assets/icon.svg', { schema: { hide: true } }, (_request, reply) =>
    reply.type('image/svg+xml').header('cache-control', 'max-age=86400').send(ICON_SVG),
  );
  app.get('/assets/app.css', { schema: { hide: true } }, (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(APP_CSS),
  );

  await app.register(async (board) => {
    board.addHook('onRequest', async (request, reply) => {
      if (keys !== undefined) {
        const key = presentedKey(request);
        const principal = key === undefined ? undefined : await keys.verify(key);
        // Answered here, in our error shape: bull-board's plugin installs an error handler of its own.
        if (principal === undefined) {
          const e = new LabelqError(
            'unauthenticated',
            'bull-board needs an API key with the "operator" scope',
          );
          return reply
            .code(e.status)
            .header('www-authenticate', 'Basic realm="labelq operator key", charset="UTF-8"')
            .send({ error: { code: e.code, message: e.message } });
        }
        if (!principal.scopes.includes('operator')) {
          const e = new LabelqError(
            'insufficient_scope',
            'bull-board needs an API key with the "operator" scope',
          );
          return reply
            .code(e.status)
            .send({ error: { code: e.code, message: e.message, details: { required: 'operator' } } });
        }
        request.log.info({ keyId: principal.keyId, url: request.url }, 'bull-board request');
      }
      void reply.header('content-security-policy', BULL_BOARD_CSP);
    });
    const serverAdapter = new FastifyAdapter();
    serverAdapter.setBasePath('/ui/queues');
    createBullBoard({
      queues: [new BullMQAdapter(queue)],
      serverAdapter,
      options: { uiConfig: { boardTitle: 'labelq' } },
    });
    await board.register(serverAdapter.registerPlugin(), { prefix: '/queues' });
  });
};
