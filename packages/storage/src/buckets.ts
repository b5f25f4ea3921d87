import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { LabelqError } from '@labelq/errors';
import { mapS3Error } from './errors.ts';

/**
 * Checks that `bucket` exists and is reachable with our credentials (HeadBucket). A missing bucket is
 * `bucket_not_found`, denied access `storage_rejected` (operator problems); network trouble `storage_unavailable`.
 */
export async function checkBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const mapped = mapS3Error(err, { bucket, op: 'HeadBucket' });
    if (mapped.code === 'object_not_found') {
      throw new LabelqError('bucket_not_found', `Bucket ${bucket} does not exist`, {
        cause: err,
        details: { bucket },
      });
    }
    throw mapped;
  }
}

/** Creates `bucket` unless it exists (for local setups; production buckets are provisioned by operators). */
export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await checkBucket(client, bucket);
    return;
  } catch (err) {
    if (!(err instanceof LabelqError) || err.code !== 'bucket_not_found') throw err;
  }
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists') return;
    throw mapS3Error(err, { bucket, op: 'CreateBucket' });
  }
}
