import { batchItemRecordSchema, type BatchItemRecord } from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';
import type { ObjectStore } from '@labelq/storage';
import { pageKey } from './keys.ts';

/** Writes a page of item records (JSONL) to the results bucket. Rewriting a page gives the same bytes. */
export async function writePage(
  s3: ObjectStore,
  reportsPrefix: string,
  tenant: string,
  batchId: string,
  n: number,
  records: readonly BatchItemRecord[],
): Promise<void> {
  const body = records.map((r) => JSON.stringify(r)).join('\n') + (records.length > 0 ? '\n' : '');
  await s3.putObject(s3.bucket, pageKey(reportsPrefix, tenant, batchId, n), body, {
    contentType: 'application/x-ndjson',
    contentLength: Buffer.byteLength(body),
  });
}

/** Reads a page back (every record version we wrote). A page the batch committed but S3 lacks is `internal`. */
export async function readPage(
  s3: ObjectStore,
  reportsPrefix: string,
  tenant: string,
  batchId: string,
  n: number,
): Promise<BatchItemRecord[]> {
  const key = pageKey(reportsPrefix, tenant, batchId, n);
  let bytes: Uint8Array;
  try {
    ({ bytes } = await s3.getObjectBytes(s3.bucket, key, { maxBytes: 64 * 1024 * 1024 }));
  } catch (err) {
    if (err instanceof LabelqError && err.code === 'object_not_found') {
      throw new LabelqError('internal', `Batch ${batchId}: item page ${n} is missing (${key})`, {
        cause: err,
      });
    }
    throw err;
  }
  return Buffer.from(bytes)
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => batchItemRecordSchema.parse(JSON.parse(l)));
}

/** Maps `items` with at most `limit` calls in flight, keeping order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (t: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}
