import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { mkdir } from 'node:fs/promises';

/** The only key pair s3rver accepts (it checks request signatures). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/**
 * The environment a labelq process needs to use an s3rver at `endpoint` with `bucket` as its configured bucket:
 * s3rver's credentials, and checksums only when required (s3rver stores aws-chunked framing verbatim).
 */
export function s3rverEnv(endpoint: string, bucket: string): Record<string, string> {
  return {
    S3_ENDPOINT: endpoint,
    S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    S3_BUCKET: bucket,
    S3_CHECKSUMS: 'WHEN_REQUIRED',
  };
}

export interface StartS3rverOptions {
  /** Folder s3rver stores buckets and objects in (created if missing). Required. */
  dir: string;
  /** Port on 127.0.0.1. Default: a free one chosen by the OS. */
  port?: number;
  /** Buckets to create at start. Default none. */
  buckets?: string[];
}

export interface S3rverHandle {
  /** `http://127.0.0.1:<port>`; use path-style addressing. */
  endpoint: string;
  port: number;
  /** Closes the server (idempotent). Objects stay in `dir`. */
  stop(): Promise<void>;
}

/**
 * Runs s3rver@3.7.1 in this process on 127.0.0.1, silent. Note: ListObjectsV2 pagination needs this process to
 * run with NODE_OPTIONS=--openssl-legacy-provider (s3rver encrypts continuation tokens with DES).
 */
export async function startS3rver(options: StartS3rverOptions): Promise<S3rverHandle> {
  await mkdir(options.dir, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory: options.dir,
    // Path-style only: virtual-host parsing would misread 127.0.0.1 requests.
    vhostBuckets: false,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
  });
  const address = await server.run();
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    port: address.port,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.close();
    },
  };
}

/**
 * An S3Client for an s3rver endpoint: path-style, s3rver's credentials, and checksums only when required,
 * because the SDK's default aws-chunked framing is stored verbatim by s3rver (corrupting streamed uploads).
 */
export function s3ClientFor(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
