import sseModule, { type SSEPluginOptions } from '@fastify/sse';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { ApiDeps } from '../deps.ts';
import { batchEventRoutes } from './batch-events.ts';
import { callbackRoutes } from './callbacks.ts';
import { eventStreams } from './event-streams.ts';
import { eventRoutes } from './events.ts';
import { policyRoutes } from './policy.ts';
import { reviewRoutes } from './reviews.ts';
import { webhookRoutes } from './webhooks.ts';

// The package's CommonJS default export is the fastify-plugin-wrapped plugin (so its route hook reaches the routes
// registered beside it); its types describe the module instead.
const sse = sseModule as unknown as FastifyPluginAsync<SSEPluginOptions>;

/** Heartbeat comments on event streams, ms: below common proxy idle timeouts (60 s). */
export const SSE_HEARTBEAT_MS = 15_000;

/** The moderation workflow's routes (#10), when the API was given its dependencies. */
export async function workflowRoutes(app: FastifyInstance, deps: ApiDeps, timeoutMs: number): Promise<void> {
  const wf = deps.workflow;
  if (wf === undefined) return;
  await app.register(sse, { heartbeatInterval: SSE_HEARTBEAT_MS });
  webhookRoutes(app, wf);
  callbackRoutes(app, deps, wf, timeoutMs);
  reviewRoutes(app, deps, wf);
  policyRoutes(app, wf);
  const streams = eventStreams(app);
  eventRoutes(app, deps, wf, timeoutMs, streams);
  if (deps.batches !== undefined) batchEventRoutes(app, deps.batches, wf.batchEvents, timeoutMs, streams);
}
