import type { Config } from '@labelq/config';
import type { Principal } from '@labelq/access';
import {
  JOB_PAYLOAD_VERSION,
  normalizeModels,
  type ClassifyJob,
  type Origin,
  type Purpose,
} from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';

/**
 * Resolves the requested model set against the models workers load: default all of them; any unknown name
 * is `unknown_model` (400) naming the available ones.
 */
export function resolveModels(
  requested: readonly string[] | undefined,
  available: readonly string[],
): string[] {
  if (requested === undefined) return normalizeModels(available);
  const unknown = requested.filter((m) => !available.includes(m));
  if (unknown.length > 0) {
    throw new LabelqError(
      'unknown_model',
      `Unknown model(s): ${unknown.join(', ')}; available: ${available.join(', ') || '(none)'}`,
      { details: { unknown, available: [...available] } },
    );
  }
  return normalizeModels(requested);
}

/**
 * Refuses a source the key may not read: a bucket outside `S3_ALLOWED_BUCKETS` or outside the key's own bucket
 * list (`bucket_not_allowed`, 403), and the service's own uploads and results prefixes in its bucket, which hold
 * every tenant's images and documents (`key_not_allowed`, 403).
 */
export function assertSourceAllowed(
  config: Config,
  principal: Pick<Principal, 'buckets'>,
  bucket: string,
  key: string,
): void {
  const allowed =
    config.s3.allowedBuckets.includes(bucket) &&
    (principal.buckets === undefined || principal.buckets.includes(bucket));
  if (!allowed) {
    throw new LabelqError('bucket_not_allowed', `Bucket "${bucket}" is not in this key's allow-list`, {
      details: { bucket },
    });
  }
  const { uploadsPrefix, resultsPrefix } = config.s3;
  if (bucket === config.s3.bucket && (key.startsWith(uploadsPrefix) || key.startsWith(resultsPrefix))) {
    throw new LabelqError('key_not_allowed', `s3://${bucket}/${key} is labelq's own storage, not a source`, {
      details: { bucket, key },
    });
  }
}

/** A classify job (current payload version, submit time now) from its parts. */
export function newJob(parts: {
  tenant: string;
  id: string;
  bucket: string;
  key: string;
  models: string[];
  purpose: Purpose;
  origin: Origin;
  metadata: Record<string, unknown> | undefined;
  /** Checked already (`checkCallbackUrls` in workflow/callbacks.ts). */
  callbackUrl?: string | undefined;
}): ClassifyJob {
  return {
    v: JOB_PAYLOAD_VERSION,
    tenant: parts.tenant,
    id: parts.id,
    bucket: parts.bucket,
    key: parts.key,
    models: parts.models,
    purpose: parts.purpose,
    origin: parts.origin,
    ...(parts.metadata !== undefined ? { metadata: parts.metadata } : {}),
    ...(parts.callbackUrl !== undefined ? { callbackUrl: parts.callbackUrl } : {}),
    submittedAt: new Date().toISOString(),
  };
}
