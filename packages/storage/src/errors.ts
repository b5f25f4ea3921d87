import { LabelqError } from '@labelq/errors';

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: 'client' | 'server';
}

// Node socket errors and SDK timeout names that mean "try again later".
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);
const TRANSIENT_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'Throttling',
  'ThrottlingException',
]);

/**
 * Maps an error thrown by the S3 SDK (or by a socket while streaming a body) to a LabelqError:
 * 404/NoSuchKey -> `object_not_found` (not retryable); timeouts, 5xx, throttling and network errors ->
 * `storage_unavailable` (retryable); other 4xx (access denied, bad request) -> `storage_rejected` and
 * NoSuchBucket -> `bucket_not_found` (not retryable, HTTP 502), because repeating the request cannot succeed. A missing
 * bucket is the operator's problem, not the client's: it must not read as "your object does not exist".
 */
export function mapS3Error(err: unknown, context: { bucket: string; key?: string; op: string }): LabelqError {
  if (err instanceof LabelqError) return err;
  // A bug in our code or the SDK's is not an outage: do not retry it as one.
  if (err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError) {
    return new LabelqError('internal', `${context.op} failed: ${err.message}`, { cause: err });
  }
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? '';
  const where =
    context.key !== undefined ? `s3://${context.bucket}/${context.key}` : `s3://${context.bucket}`;
  const details = {
    bucket: context.bucket,
    ...(context.key !== undefined ? { key: context.key } : {}),
    op: context.op,
  };
  if (name === 'NoSuchBucket') {
    return new LabelqError(
      'bucket_not_found',
      `${context.op} ${where} failed: bucket ${context.bucket} does not exist`,
      {
        cause: err,
        details,
      },
    );
  }
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    return new LabelqError('object_not_found', `${where} does not exist (${name || status})`, {
      cause: err,
      details,
    });
  }
  const transient =
    (status !== undefined && (status >= 500 || status === 429 || status === 408)) ||
    e.$fault === 'server' ||
    TRANSIENT_NAMES.has(name) ||
    (e.code !== undefined && NETWORK_CODES.has(e.code)) ||
    (status === undefined && e.$metadata === undefined) ||
    name === 'AbortError';
  const message = `${context.op} ${where} failed: ${name || 'error'}${e.message ? `: ${e.message}` : ''}`;
  return transient
    ? new LabelqError('storage_unavailable', message, { cause: err, details })
    : new LabelqError('storage_rejected', message, { cause: err, details });
}
