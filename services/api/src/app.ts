import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import type { ApiDeps } from './deps.ts';
import { installErrorHandlers } from './http/errors.ts';
import { zodValidatorCompiler } from './http/validation.ts';
import { healthRoutes } from './routes/health.ts';
import { uploadBodyDoc } from './routes/images.ts';
import { v1Routes } from './routes/v1.ts';

/** Default for {@link ApiDeps.dependencyTimeoutMs}. */
export const DEFAULT_DEPENDENCY_TIMEOUT_MS = 1000;

/**
 * Builds the Fastify app (not listening): health routes, the `/v1` plugin, multipart, OpenAPI at `/docs/json`,
 * coded error bodies. `server.ts` wires real dependencies; tests and the demo pass their own.
 */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const timeoutMs = deps.dependencyTimeoutMs ?? DEFAULT_DEPENDENCY_TIMEOUT_MS;
  // Widened so the app is a plain FastifyInstance whatever pino's exact type.
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance,
    // Clients may send their own request id for tracing; otherwise Fastify numbers requests.
    requestIdHeader: 'x-request-id',
    // Upload size is enforced per route while streaming; this bounds JSON bodies elsewhere.
    bodyLimit: 1024 * 1024,
  });
  app.setValidatorCompiler(zodValidatorCompiler);
  // Response schemas document the API; bodies are plain JSON (a result document may carry any field).
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  installErrorHandlers(app);

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
      ],
    },
    // The upload body is parsed in the handler (multipart or raw), so it is described here only.
    transform: ({ schema, url, route }) => {
      if (url === '/v1/images' && route.method === 'POST') {
        return { schema: { ...schema, body: uploadBodyDoc }, url };
      }
      return { schema, url };
    },
  });
  app.get('/docs/json', { schema: { hide: true } }, () => app.swagger());

  healthRoutes(app, deps.readiness ?? [], timeoutMs);
  await app.register(v1Routes, { prefix: '/v1', deps, timeoutMs });
  return app;
}
