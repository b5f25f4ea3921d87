import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Config } from '@labelq/config';

/**
 * Builds the S3 client from Config: connect/request timeouts so a hung endpoint fails the attempt instead of
 * the job's lock, checksum mode from config (s3rver needs WHEN_REQUIRED), and only 2 SDK attempts (one quick
 * retry for a stale keep-alive socket) because BullMQ owns retries with backoff.
 */
export function createS3Client(s3: Config['s3']): S3Client {
  return new S3Client({
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    maxAttempts: 2,
    requestChecksumCalculation: s3.checksums,
    responseChecksumValidation: s3.checksums,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: s3.connectTimeoutMs,
      // S3_REQUEST_TIMEOUT_MS is how long the socket may idle. The handler's `requestTimeout` no longer is that:
      // since @smithy/node-http-handler 4.x it only logs a warning (to the console) unless throwOnRequestTimeout
      // is set, so every S3 call but the deadline-bound download could wait on a hung endpoint forever.
      socketTimeout: s3.requestTimeoutMs,
    }),
    ...(s3.endpoint !== undefined ? { endpoint: s3.endpoint } : {}),
    // A copy: Config is frozen and the SDK annotates the credentials object it is given.
    ...(s3.credentials !== undefined ? { credentials: { ...s3.credentials } } : {}),
  });
}
