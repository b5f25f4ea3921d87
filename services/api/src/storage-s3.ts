import type { Config } from '@labelq/config';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { createObjectStore, mapS3Error, type ObjectStore } from '@labelq/storage';
import type { ApiStorage } from './deps.ts';

/** The API's storage: the shared ObjectStore bound to the configured bucket, plus a bucket check for `/readyz`. */
export interface ApiObjectStorage extends ApiStorage {
  /** Rejects when the bucket cannot be reached. */
  ping(): Promise<void>;
  /** Closes the S3 client's sockets. */
  destroy(): void;
}

export function createApiStorage(
  config: Config,
  store: ObjectStore = createObjectStore(config.s3),
): ApiObjectStorage {
  const bucket = store.bucket;
  return {
    async putObject(key, body, contentType) {
      await store.putObject(bucket, key, body, { contentType, contentLength: body.byteLength });
    },
    async deleteObject(key) {
      await store.client
        .send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))
        .catch((err: unknown) => Promise.reject(mapS3Error(err, { bucket, key, op: 'DeleteObject' })));
    },
    getDocument: (tenant, imageId) => store.getJson(bucket, store.resultKey(tenant, imageId)),
    ping: () => store.checkBucket(bucket),
    destroy: () => store.destroy(),
  };
}
