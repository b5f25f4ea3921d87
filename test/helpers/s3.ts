import type { S3Client } from '@aws-sdk/client-s3';
import { s3ClientFor, startS3rver, type S3rverHandle } from '@labelq/dev-services';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LocalS3 extends S3rverHandle {
  client: S3Client;
  dir: string;
}

/** A private s3rver in a temp folder with `buckets` created; stop() also deletes the folder. */
export async function startLocalS3(buckets: string[]): Promise<LocalS3> {
  const dir = await mkdtemp(join(tmpdir(), 'labelq-s3-'));
  const server = await startS3rver({ dir, buckets });
  const client = s3ClientFor(server.endpoint);
  return {
    ...server,
    client,
    dir,
    stop: async () => {
      client.destroy();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
