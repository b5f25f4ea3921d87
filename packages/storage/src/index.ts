export { createObjectStore, type ObjectStore } from './object-store.ts';
export { createS3Client } from './client.ts';
export { mapS3Error } from './errors.ts';
export {
  putObject,
  headObject,
  openObject,
  getObjectBytes,
  type PutObjectOptions,
  type ObjectInfo,
  type OpenedObject,
  type ObjectBytes,
} from './objects.ts';
export { putJson, getJson, resultKey } from './documents.ts';
export {
  mergeTags,
  mergeObjectTags,
  getObjectTags,
  sanitizeTagText,
  compareLabelqTags,
  LABELQ_TAG_PREFIX,
  S3_TAG_LIMITS,
  type ObjectTag,
  type MergeResult,
} from './tags.ts';
export { checkBucket, ensureBucket } from './buckets.ts';
