// Argument parsing of `labelq keys create|list|revoke`. Values are checked with the same contracts the API's
// `/v1/keys` routes use (tenant id pattern, scopes, bucket names, `expiresIn`), so the CLI accepts exactly what
// the API accepts.
import { parseArgs } from 'node:util';
import {
  SCOPES,
  apiKeyIdSchema,
  createApiKeyRequestSchema,
  tenantIdSchema,
  type CreateApiKeyRequest,
} from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';

export const KEYS_USAGE = `Usage: pnpm labelq keys create --tenant T --scopes a,b [--buckets a,b] [--expires 90d] [--name text] [--json]
       pnpm labelq keys list [--tenant T] [--json]
       pnpm labelq keys revoke ID [--json]

Manages API keys directly in Redis (REDIS_URL, REDIS_KEY_PREFIX): how the first key of an installation is made.
Afterwards an admin key can manage its tenant's keys over HTTP (POST/GET/DELETE /v1/keys).

create     a new key; it is printed once and cannot be shown again (only its hash is stored)
  --tenant T       tenant id: 1-63 lower-case letters, digits, _ and - (e.g. acme; the default tenant is default)
  --scopes a,b     any of ${SCOPES.join(', ')}
  --buckets a,b    buckets POST /v1/jobs may read with this key, within S3_ALLOWED_BUCKETS (default: all of those)
  --expires D      lifetime: a number and d, h or m (90d, 12h, 30m; default: never expires)
  --name text      a label for people (at most 200 characters)
list       keys (of one tenant with --tenant), revoked ones included; never the key nor its hash
revoke ID  revokes key ID (key_<16 hex>, as list shows it) at once, on every API replica
  --json           one JSON document on stdout, the body POST /v1/keys, GET /v1/keys or DELETE /v1/keys/ID answers
  -h, --help       show this help

Exit codes: 0 done; 1 Redis unreachable or failing, or no key with that id;
            2 usage or configuration error (bad flag or value, invalid environment variable).`;

export type KeysCommand =
  | { kind: 'help' }
  | { kind: 'create'; request: CreateApiKeyRequest & { tenant: string }; json: boolean }
  | { kind: 'list'; tenant: string | undefined; json: boolean }
  | { kind: 'revoke'; id: string; json: boolean };

function usageError(message: string): LabelqError {
  return new LabelqError('invalid_request', message, { details: { usage: true } });
}

/** `a, b,,c` -> `['a', 'b', 'c']`. */
function list(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The flag each field of createApiKeyRequestSchema comes from. */
const FLAG_OF: Record<string, string> = {
  tenant: '--tenant',
  scopes: '--scopes',
  buckets: '--buckets',
  name: '--name',
  expiresIn: '--expires',
};

function validateCreate(values: {
  tenant?: string | undefined;
  scopes?: string | undefined;
  buckets?: string | undefined;
  expires?: string | undefined;
  name?: string | undefined;
}): CreateApiKeyRequest & { tenant: string } {
  if (values.tenant === undefined) throw usageError('keys create needs --tenant (e.g. --tenant acme)');
  if (values.scopes === undefined || list(values.scopes).length === 0)
    throw usageError(`keys create needs --scopes, one or more of ${SCOPES.join(', ')}`);
  const input = {
    tenant: values.tenant,
    scopes: list(values.scopes),
    ...(values.buckets !== undefined ? { buckets: list(values.buckets) } : {}),
    ...(values.name !== undefined ? { name: values.name } : {}),
    ...(values.expires !== undefined ? { expiresIn: values.expires } : {}),
  };
  const parsed = createApiKeyRequestSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const [field, index] = issue.path;
      const flag = FLAG_OF[String(field)] ?? String(field);
      if (field === 'scopes' && typeof index === 'number')
        return `${flag}: unknown scope "${input.scopes[index]}" (scopes: ${SCOPES.join(', ')})`;
      if (field === 'buckets' && typeof index === 'number')
        return `${flag}: "${input.buckets?.[index]}": ${issue.message}`;
      if (field === 'buckets') return `${flag}: give at least one bucket name`;
      return `${flag}: ${issue.message}`;
    });
    throw usageError(problems.join('; '));
  }
  return { ...parsed.data, tenant: values.tenant, scopes: parsed.data.scopes };
}

/** Parses the arguments after `keys`. Throws `invalid_request` with `details.usage` on bad usage. */
export function parseKeysCommand(argv: readonly string[]): KeysCommand {
  const [action, ...rest] = argv;
  if (action === undefined) throw usageError('keys needs an action: create, list or revoke');
  if (action === '-h' || action === '--help') return { kind: 'help' };
  const common = {
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  } as const;
  const guarded = <T>(parse: () => T): T => {
    try {
      return parse();
    } catch (err) {
      throw usageError(`keys ${action}: ${(err as Error).message}`);
    }
  };

  switch (action) {
    case 'create': {
      const { values } = guarded(() =>
        parseArgs({
          args: rest,
          strict: true,
          options: {
            ...common,
            tenant: { type: 'string' },
            scopes: { type: 'string' },
            buckets: { type: 'string' },
            expires: { type: 'string' },
            name: { type: 'string' },
          },
        }),
      );
      if (values.help) return { kind: 'help' };
      return { kind: 'create', request: validateCreate(values), json: values.json };
    }
    case 'list': {
      const { values } = guarded(() =>
        parseArgs({ args: rest, strict: true, options: { ...common, tenant: { type: 'string' } } }),
      );
      if (values.help) return { kind: 'help' };
      if (values.tenant !== undefined && !tenantIdSchema.safeParse(values.tenant).success)
        throw usageError(
          `--tenant: "${values.tenant}" is not a tenant id (1-63 lower-case letters, digits, _ -)`,
        );
      return { kind: 'list', tenant: values.tenant, json: values.json };
    }
    case 'revoke': {
      const { values, positionals } = guarded(() =>
        parseArgs({ args: rest, strict: true, allowPositionals: true, options: common }),
      );
      if (values.help) return { kind: 'help' };
      if (positionals.length !== 1) throw usageError('keys revoke needs exactly one key id (key_<16 hex>)');
      const id = positionals[0]!;
      // A whole key by mistake: name its id, never echo the secret.
      const fromKey = /^lq_live_([0-9a-f]{16})_/.exec(id);
      if (fromKey) throw usageError(`keys revoke takes the key's id (key_${fromKey[1]}), not the key itself`);
      if (!apiKeyIdSchema.safeParse(id).success)
        throw usageError(`"${id}" is not a key id (key_<16 hex>, as \`keys list\` shows it)`);
      return { kind: 'revoke', id, json: values.json };
    }
    default:
      throw usageError(`Unknown keys action "${action}" (create, list or revoke)`);
  }
}
