import type { Config } from '@labelq/config';
import {
  DEFAULT_TENANT,
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

/** Refuses buckets outside `config.s3.allowedBuckets` with `bucket_not_allowed` (403). */
export function assertBucketAllowed(config: Config, bucket: string): void {
  if (!config.s3.allowedBuckets.includes(bucket)) {
    throw new LabelqError('bucket_not_allowed', `Bucket "${bucket}" is not in the allow-list`, {
      details: { bucket },
    });
  }
}

/** A classify job (current payload version, submit time now) from its parts. */
export function newJob(parts: {
  id: string;
  bucket: string;
  key: string;
  models: string[];
  purpose: Purpose;
  origin: Origin;
  metadata: Record<string, unknown> | undefined;
}): ClassifyJob {
  return {
    v: JOB_PAYLOAD_VERSION,
    tenant: DEFAULT_TENANT,
    id: parts.id,
    bucket: parts.bucket,
    key: parts.key,
    models: parts.models,
    purpose: parts.purpose,
    origin: parts.origin,
    ...(parts.metadata !== undefined ? { metadata: parts.metadata } : {}),
    submittedAt: new Date().toISOString(),
  };
}
