import {
  callbackAttemptSchema,
  callbackSettingsSchema,
  createdCallbackSecretSchema,
  rotateWebhookSecretRequestSchema,
  type CallbackSettings,
} from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';
import { callbacksAllowed, type CallbackSecrets } from '@labelq/webhooks';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { errorResponses, openapi } from '../http/response-schemas.ts';
import { parseOrThrow, zodJsonSchema } from '../http/validation.ts';
import { withDeadline } from '../timeout.ts';
import type { ApiWorkflow } from '../workflow/deps.ts';
import { deliveriesQuery } from './webhooks.ts';

function settings(allowed: boolean, s: CallbackSecrets | undefined): CallbackSettings {
  return {
    allowed,
    enabled: s !== undefined,
    ...(s !== undefined ? { createdAt: s.createdAt } : {}),
    ...(s?.previousSecretExpiresMs !== undefined
      ? { previousSecretExpiresAt: new Date(s.previousSecretExpiresMs).toISOString() }
      : {}),
  };
}

/**
 * `/callbacks` (scope `admin`): the tenant's switch and signing secret for per-request `callbackUrl`s. Creating
 * the secret turns callbacks on (only for tenants CALLBACK_URL_TENANTS names: 403 `callback_not_allowed`
 * otherwise); creating it again rotates it with an overlap; deleting it turns callbacks off; the deliveries log
 * says what happened to each callback (and why one was not sent). Redis calls answer 503 `queue_unavailable`
 * when Redis fails or does not answer within `timeoutMs`.
 */
export function callbackRoutes(
  app: FastifyInstance,
  deps: ApiDeps,
  wf: ApiWorkflow,
  timeoutMs: number,
): void {
  const tags = ['webhooks'];
  // A Redis outage answers 503 queue_unavailable, not 500.
  const redisOp = <T>(op: () => Promise<T>): Promise<T> =>
    withDeadline(op, timeoutMs, 'queue_unavailable', 'Redis');
  const allowedFor = (tenant: string): boolean =>
    callbacksAllowed(deps.config.workflow.callbackUrlTenants, tenant);

  app.get(
    '/callbacks',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Whether this tenant may send callbackUrl and has turned callbacks on',
        response: { 200: openapi(callbackSettingsSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { tenant } = request.principal;
      return settings(allowedFor(tenant), await redisOp(() => wf.callbacks.get(tenant)));
    },
  );

  app.post(
    '/callbacks/secret',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Turn callbacks on, or rotate their secret (shown only in this answer)',
        description:
          'The `whsec_...` secret signs every callbackUrl delivery of this tenant (Standard Webhooks). When one ' +
          'exists, the old one keeps signing beside the new one for `overlapSeconds` (default 86400).',
        body: zodJsonSchema(rotateWebhookSecretRequestSchema),
        response: { 201: openapi(createdCallbackSecretSchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { tenant } = request.principal;
      if (!allowedFor(tenant)) {
        throw new LabelqError(
          'callback_not_allowed',
          `This installation does not allow callbacks for ${tenant}`,
        );
      }
      const { overlapSeconds } = parseOrThrow(rotateWebhookSecretRequestSchema, request.body ?? {}, 'body');
      const s = await redisOp(() => wf.callbacks.create(tenant, overlapSeconds));
      request.log.info({ tenant }, 'callback secret created');
      return reply.status(201).send({ ...settings(true, s), secret: s.secret });
    },
  );

  app.delete(
    '/callbacks/secret',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Turn callbacks off (callbacks still waiting are not sent)',
        response: { 200: openapi(callbackSettingsSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { tenant } = request.principal;
      await redisOp(() => wf.callbacks.remove(tenant));
      return settings(allowedFor(tenant), undefined);
    },
  );

  app.get(
    '/callbacks/deliveries',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Callback delivery attempts of this tenant, newest first (URL, status code, latency, error)',
        querystring: zodJsonSchema(deliveriesQuery),
        response: {
          200: openapi(z.object({ deliveries: z.array(callbackAttemptSchema) })),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { limit } = parseOrThrow(deliveriesQuery, request.query, 'query');
      return {
        deliveries: await redisOp(() => wf.callbacks.attempts(request.principal.tenant, limit)),
      };
    },
  );
}
