import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import helmet from '@fastify/helmet';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import type { ApiDeps } from './deps.ts';
import { installEarlyAnswers } from './http/early-answer.ts';
import { clientErrorHandler, installErrorHandlers } from './http/errors.ts';
import { installJsonParser, requireJsonBodies } from './http/json-body.ts';
import { helmetOptions } from './http/security.ts';
import { zodValidatorCompiler } from './http/validation.ts';
import { healthRoutes } from './routes/health.ts';
import { uploadBodyDoc } from './routes/images.ts';
import { v1Routes } from './routes/v1.ts';
import { createApiMetrics } from './metrics/api-metrics.ts';
import { installHttpMetrics } from './metrics/http-metrics.ts';
import { uiPlugin } from './ui/plugin.ts';

/** Default for {@link ApiDeps.dependencyTimeoutMs}. */
export const DEFAULT_DEPENDENCY_TIMEOUT_MS = 1000;

/** Largest request line plus headers, bytes (node's default, set explicitly); more answers 431. */
export const MAX_HEADER_BYTES = 16 * 1024;

/**
 * How often node looks for requests past `requestTimeout`, ms. Its default (30 s) would let a stalled request
 * live up to 30 s past API_REQUEST_TIMEOUT_MS; a quarter of the timeout (at most 1 s) keeps the 408 close to
 * it for a list walk per interval that costs next to nothing.
 */
function connectionsCheckingInterval(requestTimeoutMs: number): number {
  return Math.min(1000, Math.ceil(requestTimeoutMs / 4));
}

/**
 * Builds the Fastify app (not listening): health routes, the `/v1` plugin, multipart, OpenAPI at `/docs/json`,
 * security headers, coded error bodies (also for what the HTTP parser refuses: 408, 431, 400). `server.ts` wires real dependencies; tests and the demo pass their own.
 */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const timeoutMs = deps.dependencyTimeoutMs ?? DEFAULT_DEPENDENCY_TIMEOUT_MS;
  // Widened so the app is a plain FastifyInstance whatever pino's exact type.
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const requestTimeoutMs = deps.config.api.requestTimeoutMs;
  const app = Fastify({
    loggerInstance,
    // Clients may send their own request id for tracing; otherwise Fastify numbers requests.
    requestIdHeader: 'x-request-id',
    // Upload size is enforced per route while streaming; this bounds JSON bodies elsewhere.
    bodyLimit: 1024 * 1024,
    // A request's headers and body must arrive within this (slow-body clients hold sockets otherwise): 408.
    // Only the request counts, not the handler's work, and an idle keep-alive socket is not a request.
    requestTimeout: requestTimeoutMs,
    // An idle keep-alive socket between two requests closes after this (API_KEEP_ALIVE_TIMEOUT_MS).
    keepAliveTimeout: deps.config.api.keepAliveTimeoutMs,
    http: {
      maxHeaderSize: MAX_HEADER_BYTES,
      // node's default headers deadline, never past the whole request's.
      headersTimeout: Math.min(60_000, requestTimeoutMs),
      connectionsCheckingInterval: connectionsCheckingInterval(requestTimeoutMs),
    },
    // What node's HTTP parser refuses (431, 408, 400) gets our coded body too, never Fastify's own shape.
    clientErrorHandler: clientErrorHandler(loggerInstance, {
      requestTimeoutMs,
      maxHeaderBytes: MAX_HEADER_BYTES,
    }),
  });
  // A connection cap (API_MAX_CONNECTIONS): node closes connections past it at once, so slow or idle clients
  // cannot hold every socket and file descriptor of the process.
  app.server.maxConnections = deps.config.api.maxConnections;
  app.setValidatorCompiler(zodValidatorCompiler);
  // Response schemas document the API; bodies are plain JSON (a result document may carry any field).
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  installErrorHandlers(app);
  // Refusals before the body is read reach the client: Expect: 100-continue honoured, staged close.
  installEarlyAnswers(app);
  // Security headers on every response, errors and 404s included (its onRequest hook runs first).
  await app.register(helmet, helmetOptions);
  // JSON bodies: refused past MAX_JSON_DEPTH before parsing; JSON-schema routes take no other Content-Type.
  installJsonParser(app);
  requireJsonBodies(app);

  // Raw uploads: hand the body stream to the route, which enforces the size limit as it reads.
  const passStream = (_r: FastifyRequest, payload: unknown, done: (err: null, body: unknown) => void): void =>
    done(null, payload);
  app.addContentTypeParser('application/octet-stream', passStream);
  app.addContentTypeParser(/^image\/[\w.+-]+$/, passStream);
  await app.register(multipart, {
    limits: {
      // One byte over the limit so our own reader reports 413 with the limit in the message.
      fileSize: deps.config.api.maxUploadBytes + 1,
      files: 1,
      fields: 10,
      fieldSize: 8 * 1024,
      parts: 12,
    },
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'labelq',
        version: '1.0.0',
        description: 'Image classification at scale: upload images or point at S3 objects, read labels.',
      },
      tags: [
        { name: 'images', description: 'Uploads and results' },
        { name: 'jobs', description: 'Objects already in S3' },
        { name: 'models', description: 'The models workers load' },
        { name: 'health', description: 'Liveness and readiness' },
        { name: 'keys', description: "API keys of the caller's tenant (scope admin)" },
        {
          name: 'queue',
          description: 'The queue across tenants: depth (scope metrics), operations (scope operator)',
        },
        { name: 'search', description: 'The results index: search, label facets, near duplicates' },
        { name: 'batches', description: 'Tag every object under an S3 prefix or in a manifest' },
        {
          name: 'webhooks',
          description:
            'Signed (Standard Webhooks) endpoints, their deliveries, per-request callbacks (scope admin)',
        },
        {
          name: 'reviews',
          description: 'The review queue: images the model sent to review, human decisions',
        },
        { name: 'policy', description: "The tenant's moderation policy (scope admin)" },
        { name: 'events', description: 'Live Server-Sent Events of images and batches' },
      ],
      components: {
        securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'lq_live_… API key' } },
      },
    },
    // The upload body is parsed in the handler (multipart or raw), so it is described here only.
    transform: ({ schema, url, route }) => {
      // Every /v1 route needs an API key; health, readiness and this document do not.
      const secured = url.startsWith('/v1/') ? { ...schema, security: [{ apiKey: [] }] } : schema;
      if (url === '/v1/images' && route.method === 'POST') {
        return { schema: { ...secured, body: uploadBodyDoc }, url };
      }
      return { schema: secured, url };
    },
  });
  app.get('/docs/json', { schema: { hide: true } }, () => app.swagger());

  // First: its onResponse hook must time every route registered after it.
  const { config } = deps;
  installHttpMetrics(
    app,
    deps.metrics ??
      createApiMetrics({
        queue: deps.queue,
        timeoutMs,
        ...(config.index.databaseUrl !== undefined
          ? { index: { keyPrefix: config.redis.keyPrefix, maxEntries: config.index.streamMaxEntries } }
          : {}),
      }),
  );
  healthRoutes(app, deps.readiness ?? [], timeoutMs);
  await app.register(v1Routes, { prefix: '/v1', deps, timeoutMs });
  await app.register(uiPlugin, { prefix: '/ui', queue: deps.queue, keys: deps.keys });
  return app;
}
