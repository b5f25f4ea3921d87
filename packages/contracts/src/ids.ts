import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * Image ids: `img_` for uploads (derived from the bytes and the model set), `obj_` for S3 objects (bucket, key
 * and model set), then 32 hex digits. Anything else is a 404 without touching Redis or S3.
 */
export const IMAGE_ID_PATTERN = /^(img|obj)_[0-9a-f]{32}$/;

export const imageIdSchema = z.string().regex(IMAGE_ID_PATTERN, 'not a labelq image id');
export type ImageId = z.infer<typeof imageIdSchema>;

export function isImageId(value: unknown): value is ImageId {
  return typeof value === 'string' && IMAGE_ID_PATTERN.test(value);
}

/** Model names as manifests and requests spell them. */
export const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;
export const modelNameSchema = z
  .string()
  .regex(MODEL_NAME_PATTERN, 'model names are lower-case letters, digits, . _ -');

function hash(parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 32);
}

/** A model set in its one canonical form: de-duplicated and sorted (ids and job payloads use it). */
export function normalizeModels(models: readonly string[]): string[] {
  return [...new Set(models)].sort();
}

/**
 * Id of an uploaded image: derived from its tenant, bytes and model set, so a duplicate upload by the same
 * tenant maps to the same job (BullMQ ignores an add with an existing job id) and the same S3 keys, while the
 * same bytes from two tenants are two images (nobody can compute another tenant's id from bytes they hold).
 */
export function uploadImageId(tenant: string, contentSha256: string, models: readonly string[]): ImageId {
  return `img_${hash(['upload', tenant, contentSha256, ...normalizeModels(models)])}`;
}

/** Id of an S3 object job: derived from its tenant, bucket, key and model set. */
export function objectImageId(
  tenant: string,
  bucket: string,
  key: string,
  models: readonly string[],
): ImageId {
  return `obj_${hash(['s3', tenant, bucket, key, ...normalizeModels(models)])}`;
}
