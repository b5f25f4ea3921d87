import {
  apiKeyIdSchema,
  apiKeyInfoSchema,
  createApiKeyRequestSchema,
  createdApiKeySchema,
  OPERATOR_SCOPES,
} from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { errorResponses, openapi } from '../http/response-schemas.ts';
import { parseOrThrow, zodJsonSchema } from '../http/validation.ts';

const keyParamsSchema = z.strictObject({ id: apiKeyIdSchema });

/**
 * `/keys` (under `/v1`, scope `admin`): an admin key creates, lists and revokes its own tenant's keys. A key is
 * shown once, in the 201 answer; lists never show keys or hashes. Keys may only narrow the admin's own buckets.
 */
export function keyRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const store = (): NonNullable<ApiDeps['keys']> => {
    if (deps.keys === undefined) throw new LabelqError('auth_disabled');
    return deps.keys;
  };

  app.post(
    '/keys',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['keys'],
        summary: 'Create an API key for this tenant (the key is shown only in this answer)',
        body: zodJsonSchema(createApiKeyRequestSchema),
        response: { 201: openapi(createdApiKeySchema), ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = parseOrThrow(createApiKeyRequestSchema, request.body, 'body');
      const { principal } = request;
      if (body.tenant !== undefined && body.tenant !== principal.tenant) {
        throw new LabelqError('tenant_forbidden', `This admin key manages tenant "${principal.tenant}" only`);
      }
      const outside = (body.buckets ?? []).filter(
        (b) => principal.buckets !== undefined && !principal.buckets.includes(b),
      );
      if (outside.length > 0) {
        throw new LabelqError(
          'insufficient_scope',
          `This admin key may not grant bucket(s) ${outside.join(', ')}`,
          {
            details: { buckets: outside },
          },
        );
      }
      // Queue-wide scopes reach across tenants: a tenant's admin cannot hand them out.
      const crossTenant = body.scopes.filter((s) => OPERATOR_SCOPES.includes(s));
      if (crossTenant.length > 0 && !principal.scopes.includes('operator')) {
        throw new LabelqError(
          'insufficient_scope',
          `Only a key with the "operator" scope may grant ${crossTenant.join(', ')} (or use labelq keys create)`,
          { details: { scopes: crossTenant } },
        );
      }
      const created = await store().create({
        tenant: principal.tenant,
        scopes: body.scopes,
        // A restricted admin's keys are at most as wide as its own.
        buckets: body.buckets ?? principal.buckets,
        name: body.name,
        expiresIn: body.expiresIn,
      });
      request.log.info({ createdKeyId: created.id, scopes: created.scopes }, 'api key created');
      return reply.status(201).send(created);
    },
  );

  app.get(
    '/keys',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['keys'],
        summary: "This tenant's API keys (never the keys themselves)",
        response: { 200: openapi(z.object({ keys: z.array(apiKeyInfoSchema) })), ...errorResponses },
      },
    },
    async (request) => ({ keys: await store().list(request.principal.tenant) }),
  );

  app.delete(
    '/keys/:id',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['keys'],
        summary: 'Revoke an API key of this tenant (effective at once on every API replica)',
        params: zodJsonSchema(keyParamsSchema),
        response: { 200: openapi(apiKeyInfoSchema), ...errorResponses },
      },
    },
    async (request) => {
      const { id } = parseOrThrow(keyParamsSchema, request.params, 'params');
      const revoked = await store().revoke(id, request.principal.tenant);
      request.log.info({ revokedKeyId: id }, 'api key revoked');
      return revoked;
    },
  );
}
