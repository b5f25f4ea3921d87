import {
  cleanRequestSchema,
  drainRequestSchema,
  queueDepthSchema,
  queueOperationResultSchema,
  retryFailedRequestSchema,
} from '@labelq/contracts';
import { QueueAdmin, queueDepth } from '@labelq/queue';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.ts';
import { errorResponses, openapi } from '../http/response-schemas.ts';
import { parseOrThrow, zodJsonSchema } from '../http/validation.ts';
import { withDeadline } from '../timeout.ts';

const operationResponse = { 200: openapi(queueOperationResultSchema), ...errorResponses };

/**
 * `/queue/*` (under `/v1`): the queue as a whole, across tenants. `GET /queue/depth` (scope `metrics`) is the
 * autoscaling signal; pause, resume, retry, clean and drain need scope `operator` (a tenant's `admin` manages
 * its own keys, not everyone's queue). Every operation is logged with the key that asked.
 */
export function queueRoutes(app: FastifyInstance, deps: ApiDeps, timeoutMs: number): void {
  const admin = new QueueAdmin(deps.queue, {
    ...(deps.openJobs !== undefined
      ? {
          release: async (tenant: string, ids: readonly string[]) => {
            for (const id of ids) await deps.openJobs?.release(tenant, id);
          },
        }
      : {}),
  });

  app.get(
    '/queue/depth',
    {
      config: { scope: 'metrics' },
      schema: {
        tags: ['queue'],
        summary: 'Queue depth: the autoscaling signal (waiting + prioritized + delayed + active)',
        description:
          "For KEDA's `metrics-api` scaler: `valueLocation: depth`, or `byPurpose.moderation.depth` for one " +
          "purpose. Counts BullMQ's `prioritized` set, where every labelq job waits (the `wait` list stays " +
          'empty). One Lua round trip; totals exact, per-purpose delayed/active extrapolated past 2000 jobs ' +
          '(`approximate`).',
        response: { 200: openapi(queueDepthSchema), ...errorResponses },
      },
    },
    () => withDeadline(() => queueDepth(deps.queue), timeoutMs, 'queue_unavailable', 'Redis'),
  );

  const operation = (
    path: string,
    summary: string,
    run: (body: unknown) => Promise<unknown>,
    body?: Parameters<typeof zodJsonSchema>[0],
  ): void => {
    app.post(
      path,
      {
        config: { scope: 'operator' },
        schema: {
          tags: ['queue'],
          summary,
          ...(body !== undefined ? { body: zodJsonSchema(body) } : {}),
          response: operationResponse,
        },
      },
      async (request) => {
        const result = await run(request.body ?? {});
        request.log.warn({ operation: path, result, body: request.body }, 'queue operation');
        return result;
      },
    );
  };

  operation('/queue/pause', 'Pause the queue: every worker stops taking new jobs (running ones finish)', () =>
    admin.pause(),
  );
  operation('/queue/resume', 'Resume a paused queue', () => admin.resume());
  operation(
    '/queue/retry',
    'Retry failed jobs: all, or those failed with one error code',
    (raw) => admin.retryFailed(parseOrThrow(retryFailedRequestSchema, raw, 'body')),
    retryFailedRequestSchema,
  );
  operation(
    '/queue/clean',
    'Remove completed or failed jobs older than N seconds from Redis (result documents stay in S3)',
    (raw) => admin.clean(parseOrThrow(cleanRequestSchema, raw, 'body')),
    cleanRequestSchema,
  );
  operation(
    '/queue/drain',
    'Remove every waiting job (and delayed ones with delayed: true); running jobs finish',
    (raw) => admin.drain(parseOrThrow(drainRequestSchema, raw, 'body')),
    drainRequestSchema,
  );
}
