import type { FastifyInstance } from 'fastify';
import type { ReadinessCheck } from '../deps.ts';
import { withDeadline } from '../timeout.ts';

const okSchema = {
  type: 'object',
  properties: { status: { type: 'string', enum: ['ok'] } },
} as const;

const readySchema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ready', 'unavailable'] },
    checks: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: { ok: { type: 'boolean' }, error: { type: 'string' } },
      },
    },
  },
} as const;

/** `/healthz` (the process answers) and `/readyz` (its dependencies answer within the deadline). */
export function healthRoutes(
  app: FastifyInstance,
  checks: readonly ReadinessCheck[],
  timeoutMs: number,
): void {
  app.get(
    '/healthz',
    { schema: { tags: ['health'], summary: 'Liveness: the process answers', response: { 200: okSchema } } },
    () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: Redis and S3 answer',
        description: '503 names the dependency that failed.',
        response: { 200: readySchema, 503: readySchema },
      },
    },
    async (request, reply) => {
      const results = await Promise.all(
        checks.map(async (c): Promise<readonly [string, { ok: boolean; error?: string }]> => {
          try {
            await withDeadline(() => c.check(), timeoutMs, 'internal', c.name);
            return [c.name, { ok: true }] as const;
          } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            request.log.warn({ check: c.name, err: message }, 'readiness check failed');
            return [c.name, { ok: false, error: message }] as const;
          }
        }),
      );
      const ready = results.every(([, r]) => r.ok);
      return reply
        .status(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : 'unavailable', checks: Object.fromEntries(results) });
    },
  );
}
