import { tenantPolicyBodySchema, type TenantPolicyBody } from '@labelq/contracts';
import { effectiveTenantPolicy, parsePolicyFile, policyFileSchema } from '@labelq/moderation';
import type { FastifyInstance } from 'fastify';
import { errorResponses, openapi } from '../http/response-schemas.ts';
import { zodJsonSchema } from '../http/validation.ts';
import type { ApiWorkflow } from '../workflow/deps.ts';

/**
 * `/policy` (scope `admin`): the tenant's moderation policy, in the MODERATION_POLICY_FILE format (merged over
 * the calibrated defaults). Each PUT or DELETE is a new revision; results record `moderation.policy` =
 * `<version>@<revision>`, and workers pick a change up within TENANT_POLICY_CACHE_MS.
 */
export function policyRoutes(app: FastifyInstance, wf: ApiWorkflow): void {
  const tags = ['policy'];
  const response = { 200: openapi(tenantPolicyBodySchema), ...errorResponses };

  async function current(tenant: string): Promise<TenantPolicyBody> {
    const stored = await wf.policies.get(tenant);
    if (stored === undefined) {
      const p = wf.fallbackPolicy;
      return {
        tenant,
        revision: await wf.policies.revision(tenant),
        version: p.version,
        policy: {
          version: p.version,
          block: { ...p.block },
          review: { ...p.review },
          ...(p.rules ? { rules: p.rules } : {}),
        },
      };
    }
    const p = effectiveTenantPolicy(stored);
    return {
      tenant,
      revision: stored.revision,
      version: p.version,
      policy: {
        version: stored.file.version,
        block: { ...p.block },
        review: { ...p.review },
        ...(p.rules ? { rules: p.rules } : {}),
      },
      updatedAt: stored.updatedAt,
      updatedBy: stored.updatedBy,
    };
  }

  app.get(
    '/policy',
    {
      config: { scope: 'admin' },
      schema: { tags, summary: "The tenant's moderation policy and its revision", response },
    },
    async (request) => current(request.principal.tenant),
  );

  app.put(
    '/policy',
    {
      config: { scope: 'admin' },
      schema: {
        tags,
        summary: 'Set the tenant policy (MODERATION_POLICY_FILE format); answers the new revision',
        body: zodJsonSchema(policyFileSchema),
        response,
      },
    },
    async (request) => {
      const file = parsePolicyFile(request.body);
      const { tenant, keyId } = request.principal;
      const stored = await wf.policies.put(tenant, file, keyId);
      request.log.info({ revision: stored.revision, version: file.version }, 'tenant policy set');
      return current(tenant);
    },
  );

  app.delete(
    '/policy',
    {
      config: { scope: 'admin' },
      schema: { tags, summary: "Drop the tenant policy (the installation's applies again)", response },
    },
    async (request) => {
      const { tenant, keyId } = request.principal;
      const revision = await wf.policies.clear(tenant, keyId);
      request.log.info({ revision }, 'tenant policy cleared');
      return current(tenant);
    },
  );
}
