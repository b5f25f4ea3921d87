export { createObjectStore, type ObjectStore } from './object-store.ts';
export { createThreadedObjectStore, type IoThreadsOptions } from './io-threads.ts';
export type { PutObjectOptions, ObjectInfo, OpenedObject, ObjectBytes } from './objects.ts';
export { compareLabelqTags, S3_TAG_LIMITS, type ObjectTag, type MergeResult } from './tags.ts';
export { mapS3Error } from './errors.ts';
