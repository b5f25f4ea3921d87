import type { FastifyPluginCallback } from 'fastify';
import type { ApiDeps } from '../deps.ts';
import { imageRoutes } from './images.ts';
import { jobRoutes } from './jobs.ts';
import { modelRoutes } from './models.ts';

export interface V1Options {
  deps: ApiDeps;
  /** Deadline for Redis and readiness operations, ms. */
  timeoutMs: number;
}

/**
 * Every `/v1` route, as one encapsulated plugin (`app.register(v1Routes, { prefix: '/v1', ... })`): hooks
 * added here (authentication first) apply to these routes only, never to health checks or the OpenAPI doc.
 */
export const v1Routes: FastifyPluginCallback<V1Options> = (app, { deps, timeoutMs }, done) => {
  if (deps.authenticate) app.addHook('onRequest', deps.authenticate);
  imageRoutes(app, deps, timeoutMs);
  jobRoutes(app, deps, timeoutMs);
  modelRoutes(app, deps);
  done();
};
