import { GetObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Config } from '@labelq/config';
import { LabelqError } from '@labelq/errors';
import type { ApiStorage } from './deps.ts';

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

function unavailable(what: string, err: unknown): LabelqError {
  const message = err instanceof Error ? err.message : String(err);
  return new LabelqError('storage_unavailable', `${what}: ${message}`, { cause: err });
}

/** An S3 client from Config: endpoint, path style, credentials, checksum mode and timeouts. */
export function s3ClientFromConfig(config: Config): S3Client {
  const { s3 } = config;
  return new S3Client({
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    ...(s3.endpoint !== undefined ? { endpoint: s3.endpoint } : {}),
    // A copy: the SDK annotates the credentials object, and Config is frozen.
    ...(s3.credentials !== undefined ? { credentials: { ...s3.credentials } } : {}),
    requestChecksumCalculation: s3.checksums,
    responseChecksumValidation: s3.checksums,
    requestHandler: { connectionTimeout: s3.connectTimeoutMs, requestTimeout: s3.requestTimeoutMs },
    maxAttempts: 2,
  });
}

/** The API's storage on the configured bucket, plus a HeadBucket check for `/readyz`. */
export function createApiStorage(
  config: Config,
  client: S3Client = s3ClientFromConfig(config),
): ApiStorage & {
  ping(): Promise<void>;
} {
  const Bucket = config.s3.bucket;
  return {
    async putObject(key, body, contentType) {
      try {
        await client.send(new PutObjectCommand({ Bucket, Key: key, Body: body, ContentType: contentType }));
      } catch (err) {
        throw unavailable(`Storing ${key} failed`, err);
      }
    },
    async getJson(key) {
      let text: string;
      try {
        const out = await client.send(new GetObjectCommand({ Bucket, Key: key }));
        text = (await out.Body?.transformToString('utf8')) ?? '';
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw unavailable(`Reading ${key} failed`, err);
      }
      try {
        return JSON.parse(text) as unknown;
      } catch (err) {
        throw new LabelqError('internal', `The document ${key} is not valid JSON`, { cause: err });
      }
    },
    async ping() {
      await client.send(new HeadBucketCommand({ Bucket }));
    },
  };
}
