import type { KeyStore } from '@labelq/access';
import { LabelqError } from '@labelq/errors';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { withDeadline } from '../timeout.ts';
import { AUTH_DISABLED_PRINCIPAL } from './principal.ts';

/** RFC 6750 challenge: a missing key gets the bare challenge, a presented but unusable one `invalid_token`. */
function challenge(presented: boolean): string {
  return presented ? 'Bearer realm="labelq", error="invalid_token"' : 'Bearer realm="labelq"';
}

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/**
 * The `/v1` plugin's first onRequest hook: resolves the API key to a principal (401 `unauthenticated` with
 * `WWW-Authenticate: Bearer` for a missing, malformed, unknown, revoked or expired key, all alike), then checks
 * the route's scope (403 `insufficient_scope`). With `keys` undefined (AUTH_DISABLED) every request is the
 * default tenant with every scope. The key and its hash never reach a log: only the key id is logged. The key
 * lookup has the routes' Redis deadline: an outage answers 503 `queue_unavailable`, a saturated API its own
 * `server_busy`, never a 500.
 */
export function authenticate(
  keys: KeyStore | undefined,
  timeoutMs: number,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request, reply) => {
    if (keys === undefined) {
      request.principal = AUTH_DISABLED_PRINCIPAL;
    } else {
      const token = bearerToken(request);
      const principal =
        token === undefined
          ? undefined
          : await withDeadline(() => keys.verify(token), timeoutMs, 'queue_unavailable', 'Redis');
      if (principal === undefined) {
        void reply.header('www-authenticate', challenge(request.headers.authorization !== undefined));
        throw new LabelqError(
          'unauthenticated',
          request.headers.authorization === undefined
            ? 'Send an API key: Authorization: Bearer <key>'
            : 'The API key is not valid (malformed, unknown, revoked or expired)',
        );
      }
      request.principal = principal;
    }
    request.log = request.log.child({ keyId: request.principal.keyId, tenant: request.principal.tenant });
    const scope = request.routeOptions.config.scope;
    if (scope !== undefined && !request.principal.scopes.includes(scope)) {
      throw new LabelqError('insufficient_scope', `This needs an API key with the "${scope}" scope`, {
        details: { required: scope },
      });
    }
  };
}
