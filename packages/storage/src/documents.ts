import type { S3Client } from '@aws-sdk/client-s3';
import { LabelqError } from '@labelq/errors';
import { getObjectBytes, putObject, type PutObjectOptions } from './objects.ts';

/** Result documents are small; anything bigger at a result key is not ours. Default cap 4 MiB. */
const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;

/** The deterministic key of an image's result (or failure) document, under its tenant's prefix. */
export function resultKey(resultsPrefix: string, tenant: string, imageId: string): string {
  return `${resultsPrefix}${tenant}/${imageId}.json`;
}

/**
 * A document's stored bytes (pretty JSON and a newline) and PutObject options. Equal documents give equal bytes
 * (and so equal ETags).
 */
export function jsonDocument(doc: unknown): { body: string; options: PutObjectOptions } {
  const body = `${JSON.stringify(doc, null, 2)}\n`;
  return { body, options: { contentType: 'application/json', contentLength: Buffer.byteLength(body) } };
}

/** Writes `doc` as {@link jsonDocument}. */
export async function putJson(
  client: S3Client,
  bucket: string,
  key: string,
  doc: unknown,
): Promise<{ etag: string }> {
  const { body, options } = jsonDocument(doc);
  return putObject(client, bucket, key, body, options);
}

/**
 * Reads a JSON document; `undefined` when it does not exist. Invalid JSON is `document_invalid` (not retryable): the
 * caller decides whether to overwrite it.
 */
export async function getJson(client: S3Client, bucket: string, key: string): Promise<unknown> {
  let bytes: Uint8Array;
  try {
    ({ bytes } = await getObjectBytes(client, bucket, key, { maxBytes: MAX_DOCUMENT_BYTES }));
  } catch (err) {
    if (err instanceof LabelqError && err.code === 'object_not_found') return undefined;
    throw err;
  }
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch (err) {
    throw new LabelqError('document_invalid', `s3://${bucket}/${key} is not valid JSON`, {
      cause: err,
      details: { bucket, key },
    });
  }
}
