import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '@labelq/config';
import type { Readable } from 'node:stream';
import { checkBucket, ensureBucket } from './buckets.ts';
import { createS3Client } from './client.ts';
import { getJson, putJson, resultKey } from './documents.ts';
import {
  getObjectBytes,
  headObject,
  openObject,
  putObject,
  type ObjectBytes,
  type ObjectInfo,
  type OpenedObject,
  type PutObjectOptions,
} from './objects.ts';
import { getObjectTags, mergeObjectTags, type MergeResult, type ObjectTag } from './tags.ts';

/**
 * The S3 operations labelq needs, bound to one client. Every method rejects with a LabelqError (see
 * mapS3Error): `object_not_found`, `object_too_large`, `storage_unavailable` (transient: timeouts, 5xx,
 * throttling, network; retryable), `storage_rejected` (other 4xx) or `bucket_not_found` (not retryable).
 */
export interface ObjectStore {
  readonly client: S3Client;
  /** Bucket for uploads and result documents (config.s3.bucket). */
  readonly bucket: string;
  /** `${resultsPrefix}${tenant}/${imageId}.json`: every tenant's documents under its own prefix. */
  resultKey(tenant: string, imageId: string): string;
  putObject(
    bucket: string,
    key: string,
    body: Uint8Array | string | Readable,
    options?: PutObjectOptions,
  ): Promise<{ etag: string }>;
  headObject(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  openObject(
    bucket: string,
    key: string,
    options: { maxBytes: number; signal?: AbortSignal },
  ): Promise<OpenedObject>;
  getObjectBytes(
    bucket: string,
    key: string,
    options: { maxBytes: number; signal?: AbortSignal },
  ): Promise<ObjectBytes>;
  putJson(bucket: string, key: string, doc: unknown): Promise<{ etag: string }>;
  getJson(bucket: string, key: string): Promise<unknown>;
  getTags(bucket: string, key: string): Promise<ObjectTag[]>;
  /** See mergeTags: sets `ours`, removes the other `owned` keys, keeps every other tag. */
  mergeTags(
    bucket: string,
    key: string,
    ours: readonly ObjectTag[],
    owned?: readonly string[],
  ): Promise<MergeResult>;
  checkBucket(bucket: string): Promise<void>;
  ensureBucket(bucket: string): Promise<void>;
  /** Closes the client's sockets. */
  destroy(): void;
}

/** Builds the store from Config; pass `client` to reuse one (tests). */
export function createObjectStore(s3: Config['s3'], client: S3Client = createS3Client(s3)): ObjectStore {
  return {
    client,
    bucket: s3.bucket,
    resultKey: (tenant, imageId) => resultKey(s3.resultsPrefix, tenant, imageId),
    putObject: (bucket, key, body, options) => putObject(client, bucket, key, body, options),
    headObject: (bucket, key) => headObject(client, bucket, key),
    openObject: (bucket, key, options) => openObject(client, bucket, key, options),
    getObjectBytes: (bucket, key, options) => getObjectBytes(client, bucket, key, options),
    putJson: (bucket, key, doc) => putJson(client, bucket, key, doc),
    getJson: (bucket, key) => getJson(client, bucket, key),
    getTags: (bucket, key) => getObjectTags(client, bucket, key),
    mergeTags: (bucket, key, ours, owned) => mergeObjectTags(client, bucket, key, ours, owned),
    checkBucket: (bucket) => checkBucket(client, bucket),
    ensureBucket: (bucket) => ensureBucket(client, bucket),
    destroy: () => client.destroy(),
  };
}
