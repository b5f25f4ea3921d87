import { z } from 'zod';
import { tenantIdSchema } from './job-payload.ts';

/**
 * What an API key may do. `submit`: POST images and jobs; `read`: GET images and models; `review`: decide
 * human-review cases; `admin`: manage the tenant's keys. The last two reach across tenants, so a tenant's
 * `admin` cannot grant them (only a key holding `operator`, or the `labelq keys` CLI): `metrics`: read
 * queue-wide figures (queue depth for autoscaling, the dashboard's overview), nothing of any tenant's images;
 * `operator`: queue-wide operations (pause, resume, retry, clean, drain, the raw queue view).
 */
export const SCOPES = ['submit', 'read', 'review', 'admin', 'metrics', 'operator'] as const;

/** Scopes that reach across tenants: only a key with `operator` (or the CLI) may grant them. */
export const OPERATOR_SCOPES: readonly Scope[] = ['metrics', 'operator'];
export const scopeSchema = z.enum(SCOPES);
export type Scope = z.infer<typeof scopeSchema>;

/** An API key's id: shown in lists and logs, part of the key itself, never enough to use it. */
export const API_KEY_ID_PATTERN = /^key_[0-9a-f]{16}$/;
export const apiKeyIdSchema = z.string().regex(API_KEY_ID_PATTERN, 'not an API key id');

const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'bucket names are 3-63 lower-case letters, digits, . and -');

/**
 * An API key as stored in Redis (written by the API and the `labelq keys` CLI, read by every API replica).
 * `hash` is the keyed hash of the key's secret; the key itself is never stored.
 */
export const apiKeyRecordSchema = z.object({
  v: z.literal(1),
  id: apiKeyIdSchema,
  tenant: tenantIdSchema,
  scopes: z.array(scopeSchema).min(1),
  /** Buckets `POST /v1/jobs` may read with this key (within S3_ALLOWED_BUCKETS); absent: all of those. */
  buckets: z.array(bucketName).optional(),
  /** A label for people ("ci uploader"). */
  name: z.string().max(200).optional(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().optional(),
  revokedAt: z.iso.datetime().optional(),
  /** Hex HMAC-SHA256 of the secret (see @labelq/access). */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});
export type ApiKeyRecord = z.infer<typeof apiKeyRecordSchema>;

/** A key as `GET /v1/keys` and `labelq keys list` show it: never the hash, never the key. */
export const apiKeyInfoSchema = apiKeyRecordSchema.omit({ hash: true, v: true }).extend({
  lastUsedAt: z.iso.datetime().optional(),
});
export type ApiKeyInfo = z.infer<typeof apiKeyInfoSchema>;

/** `POST /v1/keys` and `labelq keys create`: the only time the key itself is shown. */
export const createdApiKeySchema = apiKeyInfoSchema.extend({
  key: z.string().describe('The API key. Shown once: store it now, it cannot be read again.'),
});
export type CreatedApiKey = z.infer<typeof createdApiKeySchema>;

/** A request to create a key. `expiresIn`: a duration like `90d`, `12h`, `30m`. */
export const createApiKeyRequestSchema = z.strictObject({
  tenant: tenantIdSchema.optional(),
  scopes: z.array(scopeSchema).min(1),
  buckets: z.array(bucketName).min(1).optional(),
  name: z.string().max(200).optional(),
  expiresIn: z
    .string()
    .regex(/^[1-9][0-9]{0,5}[dhm]$/, 'expiresIn is a number with d, h or m, e.g. 90d')
    .optional(),
});
export type CreateApiKeyRequest = z.infer<typeof createApiKeyRequestSchema>;

/** Milliseconds of an `expiresIn` duration (`90d`, `12h`, `30m`). */
export function durationMs(text: string): number {
  const n = Number(text.slice(0, -1));
  const unit = text.at(-1);
  return n * (unit === 'd' ? 86_400_000 : unit === 'h' ? 3_600_000 : 60_000);
}
