import type { Config } from '@labelq/config';
import { LabelqError } from '@labelq/errors';
import {
  classifyJobOptions,
  JOB_DATA_VERSION,
  JOB_NAME,
  normalizeModels,
  type ClassifyJobData,
  type Purpose,
} from '@labelq/queue';
import type { JobsOptions } from 'bullmq';

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

/**
 * BullMQ options for one classify job (the queue package's: id = image id for dedupe, priority by purpose,
 * attempts with labelq's jittered backoff, retention).
 */
export function jobOptions(config: Config, data: ClassifyJobData): JobsOptions {
  return classifyJobOptions(config, data);
}

/** Builds a job payload (version, submit time) from its parts. */
export function jobData(parts: {
  id: string;
  bucket: string;
  key: string;
  models: string[];
  purpose: Purpose;
  origin: ClassifyJobData['origin'];
  metadata: Record<string, unknown> | undefined;
}): ClassifyJobData {
  return {
    v: JOB_DATA_VERSION,
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

export { JOB_NAME };
