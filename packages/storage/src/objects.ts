import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { LabelqError } from '@labelq/errors';
import { Readable } from 'node:stream';
import { mapS3Error } from './errors.ts';

export interface PutObjectOptions {
  /** Default `application/octet-stream`. */
  contentType?: string;
  /** Required for a streamed body to be sent as a stream; without it the stream is buffered first. */
  contentLength?: number;
  /** User metadata (x-amz-meta-*). Default none. */
  metadata?: Record<string, string>;
}

export interface ObjectInfo {
  /** The ETag as S3 returns it, quotes included (e.g. `"9b2cf5..."`). */
  etag: string;
  contentLength: number;
  contentType: string | undefined;
}

/** An object whose headers arrived but whose body is not read yet (see {@link openObject}). */
export interface OpenedObject extends ObjectInfo {
  /** Reads the body, counting bytes and aborting past the cap. Call exactly once, or call discard(). */
  read(): Promise<Uint8Array>;
  /** Frees the connection without reading the body. */
  discard(): void;
}

function tooLarge(bucket: string, key: string, size: number, maxBytes: number): LabelqError {
  return new LabelqError('object_too_large', `s3://${bucket}/${key} is larger than ${maxBytes} bytes`, {
    details: { bucket, key, size, maxBytes },
  });
}

/** `timeout` (retryable): the caller's deadline ended the request (headers or body). */
function deadlinePassed(bucket: string, key: string, signal: AbortSignal): LabelqError {
  return new LabelqError('timeout', `GetObject s3://${bucket}/${key} did not finish before its deadline`, {
    cause: signal.reason,
    details: { bucket, key },
  });
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** PutObject from a buffer, string or stream. Returns the new ETag. */
export async function putObject(
  client: S3Client,
  bucket: string,
  key: string,
  body: Uint8Array | string | Readable,
  options: PutObjectOptions = {},
): Promise<{ etag: string }> {
  try {
    // The SDK cannot stream a body of unknown length in a single PutObject.
    const payload =
      body instanceof Readable && options.contentLength === undefined ? await collect(body) : body;
    const out = await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: payload,
        ContentType: options.contentType ?? 'application/octet-stream',
        ...(options.contentLength !== undefined ? { ContentLength: options.contentLength } : {}),
        ...(options.metadata !== undefined ? { Metadata: options.metadata } : {}),
      }),
    );
    return { etag: out.ETag ?? '' };
  } catch (err) {
    throw mapS3Error(err, { bucket, key, op: 'PutObject' });
  }
}

/** HeadObject; `undefined` when the object does not exist. */
export async function headObject(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<ObjectInfo | undefined> {
  try {
    const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { etag: out.ETag ?? '', contentLength: out.ContentLength ?? 0, contentType: out.ContentType };
  } catch (err) {
    const mapped = mapS3Error(err, { bucket, key, op: 'HeadObject' });
    if (mapped.code === 'object_not_found') return undefined;
    throw mapped;
  }
}

/**
 * Starts a GetObject and returns once the headers arrived, so the caller can reserve `contentLength` bytes
 * (e.g. a bytes-in-flight budget) before reading the body. Rejects with `object_too_large` when ContentLength
 * exceeds `maxBytes`; read() also counts while streaming and aborts past the cap (ContentLength may lie or be
 * absent). `signal` bounds the whole download, headers and body: S3 client timeouts are idle timeouts, which a
 * trickling body never trips. Its abort rejects with `timeout` (retryable).
 */
export async function openObject(
  client: S3Client,
  bucket: string,
  key: string,
  options: { maxBytes: number; signal?: AbortSignal },
): Promise<OpenedObject> {
  let out;
  try {
    out = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: key }),
      options.signal ? { abortSignal: options.signal } : {},
    );
  } catch (err) {
    if (options.signal?.aborted) throw deadlinePassed(bucket, key, options.signal);
    throw mapS3Error(err, { bucket, key, op: 'GetObject' });
  }
  const body = out.Body as Readable | undefined;
  const contentLength = out.ContentLength ?? 0;
  const discard = (): void => void body?.destroy();
  if (out.ContentLength !== undefined && out.ContentLength > options.maxBytes) {
    discard();
    throw tooLarge(bucket, key, out.ContentLength, options.maxBytes);
  }
  let used = false;
  const read = async (): Promise<Uint8Array> => {
    if (used) throw new Error('OpenedObject.read() called twice');
    used = true;
    if (body === undefined) return new Uint8Array(0);
    const signal = options.signal;
    const onAbort = (): void => void body.destroy();
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of body) {
        const buf = Buffer.from(chunk as Uint8Array);
        total += buf.length;
        if (total > options.maxBytes) {
          body.destroy();
          throw tooLarge(bucket, key, total, options.maxBytes);
        }
        chunks.push(buf);
      }
      if (signal?.aborted) throw deadlinePassed(bucket, key, signal);
    } catch (err) {
      if (signal?.aborted && !(err instanceof LabelqError)) throw deadlinePassed(bucket, key, signal);
      throw mapS3Error(err, { bucket, key, op: 'GetObject body' });
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (out.ContentLength !== undefined && total !== out.ContentLength) {
      throw new LabelqError('storage_unavailable', `s3://${bucket}/${key}: body ended after ${total} bytes`, {
        details: { bucket, key, expected: out.ContentLength, received: total },
      });
    }
    return Buffer.concat(chunks, total);
  };
  return { etag: out.ETag ?? '', contentLength, contentType: out.ContentType, read, discard };
}

export interface ObjectBytes {
  bytes: Uint8Array;
  /** Quotes included, as S3 returns it. */
  etag: string;
  contentType: string | undefined;
}

/** GetObject into memory with a size cap (checked against ContentLength and counted while streaming). */
export async function getObjectBytes(
  client: S3Client,
  bucket: string,
  key: string,
  options: { maxBytes: number; signal?: AbortSignal },
): Promise<ObjectBytes> {
  const opened = await openObject(client, bucket, key, options);
  const bytes = await opened.read();
  return { bytes, etag: opened.etag, contentType: opened.contentType };
}
