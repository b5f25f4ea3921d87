/** Redis keys of one batch, under REDIS_KEY_PREFIX. Every key names the batch; the index names the tenant. */
export function batchKeys(prefix: string, batchId: string) {
  const base = `${prefix}:batch:${batchId}`;
  return {
    /** Hash: spec, status, counters, listing and enqueue cursors. */
    hash: base,
    /** Bitmap by ordinal: the item completed (counted once). */
    done: `${base}:done`,
    /** Bitmap by ordinal: the item's job failed for good (counted once). */
    fail: `${base}:fail`,
    /** Bitmap by ordinal: failed items a retry-failed pass queues again. */
    retry: `${base}:retry`,
    /** Hash: failed items per error code. */
    codes: `${base}:codes`,
    /** Hash: failed listing entries (bad manifest lines, refused buckets) per code; kept by retry-failed. */
    listCodes: `${base}:listcodes`,
    /** Hash: skipped items per reason. */
    skips: `${base}:skips`,
    /** The runner's lease (one runner per batch at a time). */
    lease: `${base}:lease`,
    /**
     * Pub/sub channel (not a key): every change of the hash announces itself here (`status` or `progress`,
     * see `batchChangeSchema`), so live event streams read the batch when it moves instead of polling it.
     */
    changes: `${base}:changes`,
  };
}

export type BatchKeys = ReturnType<typeof batchKeys>;

/** Sorted set of a tenant's batch ids by creation time (ms). */
export function tenantIndexKey(prefix: string, tenant: string): string {
  return `${prefix}:batches:${tenant}`;
}

/** The control queue the batch role consumes: one long-running job per running batch. */
export function controlQueueName(queueName: string): string {
  return `${queueName}-batches`;
}

/** S3 key of a batch's item page `n` (results bucket). */
export function pageKey(reportsPrefix: string, tenant: string, batchId: string, n: number): string {
  return `${reportsPrefix}${tenant}/${batchId}/items/${String(n).padStart(8, '0')}.jsonl`;
}

export function reportKeys(reportsPrefix: string, tenant: string, batchId: string) {
  return {
    summaryKey: `${reportsPrefix}${tenant}/${batchId}/summary.json`,
    failuresKey: `${reportsPrefix}${tenant}/${batchId}/failures.jsonl`,
  };
}
