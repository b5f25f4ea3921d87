// Rebuilds the index from the S3 result documents (the source of truth): every document under the results
// prefix (one tenant's, or all), upserted with `replace: 'always'`, then the rows no document backs any more are
// deleted. Runs alongside the live indexer: a row it writes after the rebuild began is newer, and kept.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { readStoredDocument, type StoredDocument } from '@labelq/contracts';
import type { ObjectStore } from '@labelq/storage';
import type { Pool } from 'pg';
import { upsertDocuments } from './write.ts';

export interface ReindexOptions {
  pool: Pool;
  store: ObjectStore;
  /** Bucket holding the result documents (S3_BUCKET). */
  bucket: string;
  /** S3_RESULTS_PREFIX. */
  resultsPrefix: string;
  /** Only this tenant. Default: every tenant under the prefix. */
  tenant?: string;
  /** Documents read from S3 at once. Default 16. */
  concurrency?: number;
  /** Documents per Postgres transaction. Default 200. */
  batchSize?: number;
  /** Called after each batch. */
  onProgress?: (progress: ReindexResult) => void;
}

export interface ReindexResult {
  /** Documents read and indexed. */
  indexed: number;
  /** Objects under the prefix that are not readable documents (skipped, listed in `invalidKeys`, at most 100). */
  invalid: number;
  invalidKeys: string[];
  /** Index rows deleted because no document backs them. */
  deleted: number;
}

async function* listKeys(store: ObjectStore, bucket: string, prefix: string): AsyncGenerator<string> {
  let token: string | undefined;
  do {
    const page = await store.client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) if (o.Key?.endsWith('.json')) yield o.Key;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
}

export async function reindex(options: ReindexOptions): Promise<ReindexResult> {
  const { pool, store } = options;
  const prefix = options.resultsPrefix + (options.tenant !== undefined ? `${options.tenant}/` : '');
  const concurrency = options.concurrency ?? 16;
  const batchSize = options.batchSize ?? 200;
  const { rows } = await pool.query<{ now: string }>('SELECT clock_timestamp()::text AS now');
  const startedAt = rows[0]!.now;
  const result: ReindexResult = { indexed: 0, invalid: 0, invalidKeys: [], deleted: 0 };

  let batch: StoredDocument[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const docs = batch;
    batch = [];
    await upsertDocuments(pool, docs, { replace: 'always' });
    result.indexed += docs.length;
    options.onProgress?.({ ...result });
  };
  const read = async (key: string): Promise<void> => {
    try {
      const doc = readStoredDocument(await store.getJson(options.bucket, key));
      // A document outside its tenant's prefix (or naming another tenant) is not trusted for that tenant.
      const tenant = doc?.tenant ?? 'default';
      if (doc === undefined || !key.startsWith(`${options.resultsPrefix}${tenant}/`))
        throw new Error('misplaced');
      batch.push(doc);
    } catch (err) {
      if ((err as { code?: string }).code === 'storage_unavailable') throw err;
      result.invalid++;
      if (result.invalidKeys.length < 100) result.invalidKeys.push(key);
    }
  };

  const inFlight = new Set<Promise<void>>();
  for await (const key of listKeys(store, options.bucket, prefix)) {
    const p = read(key).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (batch.length >= batchSize) await flush();
  }
  await Promise.all(inFlight);
  await flush();

  // Images and their labels in one statement (labels have no foreign key, see migration 0002): an image the live
  // indexer rewrote meanwhile has a newer indexed_at and is kept, with its labels.
  const del = await pool.query<{ deleted: string }>(
    `WITH gone AS (
       DELETE FROM labelq.images WHERE indexed_at < $1::timestamptz ${options.tenant !== undefined ? 'AND tenant = $2' : ''}
       RETURNING tenant, id
     ), labels AS (
       DELETE FROM labelq.labels l USING gone WHERE l.tenant = gone.tenant AND l.image_id = gone.id
     )
     SELECT count(*) AS deleted FROM gone`,
    options.tenant !== undefined ? [startedAt, options.tenant] : [startedAt],
  );
  result.deleted = Number(del.rows[0]?.deleted ?? 0);
  return result;
}
