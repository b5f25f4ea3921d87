import { createHash } from 'node:crypto';

/** Why a job was submitted; moderation jobs jump the queue. */
export type Purpose = 'tagging' | 'moderation';

/** BullMQ priorities: lower runs first; jobs without priority run before all prioritized ones, so set both. */
export const PRIORITY: Record<Purpose, number> = { moderation: 1, tagging: 10 };

/** Version of the job payload; a worker refuses payloads it does not know. */
export const JOB_DATA_VERSION = 1;

/** The payload of a classify job, shared by the API (producer) and workers (consumer). */
export interface ClassifyJobData {
  v: typeof JOB_DATA_VERSION;
  /** The image id clients use (`GET /v1/images/:id`); also the BullMQ job id. */
  id: string;
  bucket: string;
  key: string;
  /** Sorted, de-duplicated model names. */
  models: string[];
  purpose: Purpose;
  /** 'upload' for images sent to the API, 's3' for objects already in a bucket. */
  origin: 'upload' | 's3';
  /** Small client JSON echoed in the result (from the first submission of a duplicate). */
  metadata?: Record<string, unknown>;
  /** ISO time the API accepted the job. */
  submittedAt: string;
}

export const JOB_NAME = 'classify';

function hash(parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 32);
}

export function normalizeModels(models: readonly string[]): string[] {
  return [...new Set(models)].sort();
}

/**
 * Id of an uploaded image: derived from its bytes and the model set, so a duplicate upload maps to the same
 * job (BullMQ ignores an add with an existing job id) and the same S3 keys.
 */
export function uploadImageId(contentSha256: string, models: readonly string[]): string {
  return `img_${hash(['upload', contentSha256, ...normalizeModels(models)])}`;
}

/** Id of an S3 object job: derived from bucket, key and model set. */
export function objectImageId(bucket: string, key: string, models: readonly string[]): string {
  return `obj_${hash(['s3', bucket, key, ...normalizeModels(models)])}`;
}

/** Image ids are what the two functions above produce; anything else is a 404 without touching Redis. */
export const IMAGE_ID_PATTERN = /^(img|obj)_[0-9a-f]{32}$/;
