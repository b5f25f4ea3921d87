import {
  createdWebhookSchema,
  createWebhookRequestSchema,
  rotateWebhookSecretRequestSchema,
  webhookAttemptSchema,
  webhookInfoSchema,
} from '@labelq/contracts';
import { checkWebhookUrl, publicInfo } from '@labelq/webhooks';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { errorResponses, openapi } from '../http/response-schemas.ts';
import { parseOrThrow, zodJsonSchema } from '../http/validation.ts';
import type { ApiWorkflow } from '../workflow/deps.ts';

const params = z.strictObject({ id: z.string().max(64) });
/** `?limit=` of a delivery log (this route's and `GET /v1/callbacks/deliveries`). */
export const deliveriesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/**
 * `/webhooks` (scope `admin`): a tenant's Standard Webhooks endpoints. The `whsec_` secret is shown in the
 * create and rotate answers only. URLs are checked at registration (http(s), no credentials, no private
 * target unless WEBHOOK_ALLOWED_HOSTS names it) and again at every connect by the delivery agent.
 */
export function webhookRoutes(app: FastifyInstance, wf: ApiWorkflow): void {
  const { webhooks } = wf;
  const tags = ['webhooks'];

  app.post(
    '/webhooks',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Register a webhook endpoint (its secret is shown only in this answer)',
        body: zodJsonSchema(createWebhookRequestSchema),
        response: { 201: openapi(createdWebhookSchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = parseOrThrow(createWebhookRequestSchema, request.body, 'body');
      const url = await checkWebhookUrl(body.url, wf.allowedTargets);
      const ep = await webhooks.create(request.principal.tenant, { ...body, url: url.toString() });
      request.log.info({ webhookId: ep.id, events: ep.events }, 'webhook endpoint registered');
      return reply.status(201).send({ ...publicInfo(ep), secret: ep.secret });
    },
  );

  app.get(
    '/webhooks',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: "This tenant's webhook endpoints (never their secrets)",
        response: { 200: openapi(z.object({ webhooks: z.array(webhookInfoSchema) })), ...errorResponses },
      },
    },
    async (request) => ({ webhooks: (await webhooks.list(request.principal.tenant)).map(publicInfo) }),
  );

  app.get(
    '/webhooks/:id',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'One webhook endpoint',
        params: zodJsonSchema(params),
        response: { 200: openapi(webhookInfoSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { id } = parseOrThrow(params, request.params, 'params');
      return publicInfo(await webhooks.require(request.principal.tenant, id));
    },
  );

  app.delete(
    '/webhooks/:id',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Delete a webhook endpoint (its waiting deliveries end unsent)',
        params: zodJsonSchema(params),
        response: { 200: openapi(webhookInfoSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { id } = parseOrThrow(params, request.params, 'params');
      const ep = await webhooks.remove(request.principal.tenant, id);
      request.log.info({ webhookId: id }, 'webhook endpoint deleted');
      return publicInfo(ep);
    },
  );

  app.post(
    '/webhooks/:id/rotate',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'New secret; the old one keeps signing beside it for overlapSeconds (default 1 day)',
        params: zodJsonSchema(params),
        body: zodJsonSchema(rotateWebhookSecretRequestSchema),
        response: { 200: openapi(createdWebhookSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { id } = parseOrThrow(params, request.params, 'params');
      const body = parseOrThrow(rotateWebhookSecretRequestSchema, request.body ?? {}, 'body');
      const ep = await webhooks.rotate(request.principal.tenant, id, body.overlapSeconds);
      request.log.info({ webhookId: id, overlapSeconds: body.overlapSeconds }, 'webhook secret rotated');
      return { ...publicInfo(ep), secret: ep.secret };
    },
  );

  app.post(
    '/webhooks/:id/enable',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Re-enable an endpoint disabled after a run of failures',
        params: zodJsonSchema(params),
        response: { 200: openapi(webhookInfoSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { id } = parseOrThrow(params, request.params, 'params');
      return publicInfo(await webhooks.enable(request.principal.tenant, id));
    },
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Delivery attempts to this endpoint, newest first (status code, latency, error)',
        params: zodJsonSchema(params),
        querystring: zodJsonSchema(deliveriesQuery),
        response: {
          200: openapi(z.object({ deliveries: z.array(webhookAttemptSchema) })),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { id } = parseOrThrow(params, request.params, 'params');
      const { limit } = parseOrThrow(deliveriesQuery, request.query, 'query');
      return { deliveries: await webhooks.attempts(request.principal.tenant, id, limit) };
    },
  );
}
