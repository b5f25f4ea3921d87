import rateLimit from '@fastify/rate-limit';
import { LabelqError } from '@labelq/errors';
import type { FastifyPluginAsync } from 'fastify';
import { authenticate } from '../auth/hook.ts';
import type { ApiDeps } from '../deps.ts';
import { batchRoutes } from './batches.ts';
import { imageRoutes } from './images.ts';
import { jobRoutes } from './jobs.ts';
import { keyRoutes } from './keys.ts';
import { modelRoutes } from './models.ts';
import { queueRoutes } from './queue.ts';
import { workflowRoutes } from './workflow.ts';
import { searchRoutes } from './search.ts';
import { uiDataRoutes } from '../ui/data-routes.ts';

export interface V1Options {
  deps: ApiDeps;
  /** Deadline for Redis and readiness operations, ms. */
  timeoutMs: number;
}

/**
 * Every `/v1` route, as one encapsulated plugin (`app.register(v1Routes, { prefix: '/v1', ... })`): its hooks
 * apply to these routes only, never to health checks or the OpenAPI document. First authentication and the
 * route's scope, then the per-key rate limit (so it counts keys, not addresses), then the route.
 */
export const v1Routes: FastifyPluginAsync<V1Options> = async (app, { deps, timeoutMs }) => {
  app.decorateRequest('principal', null as never);
  app.addHook('onRequest', authenticate(deps.keys, timeoutMs));
  if (deps.rateLimit !== undefined) {
    const { redis, perMinute, prefix } = deps.rateLimit;
    await app.register(rateLimit, {
      max: perMinute,
      timeWindow: 60_000,
      redis,
      nameSpace: `${prefix}:rate-limit:`,
      keyGenerator: (request) => request.principal.keyId,
      // Redis trouble must not turn every request into an error here: the route answers 503 on its own.
      skipOnError: true,
      errorResponseBuilder: (_request, context) =>
        new LabelqError('rate_limited', `More than ${context.max} requests a minute with this API key`, {
          details: { limitPerMinute: context.max, retryAfterSeconds: Math.ceil(context.ttl / 1000) },
        }),
    });
  }
  imageRoutes(app, deps, timeoutMs);
  jobRoutes(app, deps, timeoutMs);
  modelRoutes(app, deps);
  keyRoutes(app, deps);
  queueRoutes(app, deps, timeoutMs);
  batchRoutes(app, deps, timeoutMs);
  await workflowRoutes(app, deps, timeoutMs);
  searchRoutes(app, deps);
  uiDataRoutes(app, deps, timeoutMs);
};
