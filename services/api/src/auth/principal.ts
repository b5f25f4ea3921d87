import type { Principal } from '@labelq/access';
import { DEFAULT_TENANT, SCOPES, type Scope } from '@labelq/contracts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the request acts for: set by the `/v1` plugin's authentication hook before any route runs. */
    principal: Principal;
  }
  interface FastifyContextConfig {
    /** The scope a `/v1` route requires; a key without it gets 403 `insufficient_scope`. */
    scope?: Scope;
  }
}

/** Every request's principal when AUTH_DISABLED=true: the default tenant with every scope. */
export const AUTH_DISABLED_PRINCIPAL: Principal = Object.freeze({
  keyId: 'auth-disabled',
  tenant: DEFAULT_TENANT,
  scopes: SCOPES,
  buckets: undefined,
});

export type { Principal };
