import { objectImageId, type BatchItemRecord, type ModelRef, type SkipReason } from '@labelq/contracts';
import { toLabelqError } from '@labelq/errors';
import type { ObjectStore } from '@labelq/storage';
import { filterReason } from './filter.ts';
import { existingResult, modeDecision, needsLookup, type ExistingResult } from './mode.ts';
import { mapLimit } from './pages.ts';
import type { SourceEntry } from './source.ts';
import type { BatchSpec } from './store.ts';

export interface PlanContext {
  tenant: string;
  spec: BatchSpec;
  /** The batch's model files (name, version, sha256). */
  models: readonly ModelRef[];
  policyVersion: string;
  /** Buckets items may come from (S3_ALLOWED_BUCKETS and the key's own list). */
  allowedBuckets: readonly string[];
  /** labelq's own storage: its bucket and the prefixes no batch may read. */
  ownBucket: string;
  ownPrefixes: readonly string[];
  lookupConcurrency: number;
}

/** Item records for one source page, with what the mode decided. Only reads S3 (result documents, a HEAD). */
export async function planPage(
  s3: ObjectStore,
  ctx: PlanContext,
  entries: readonly SourceEntry[],
  firstOrdinal: number,
): Promise<{
  records: BatchItemRecord[];
  skipped: Partial<Record<SkipReason, number>>;
  failedByCode: Record<string, number>;
  queue: number;
}> {
  const names = ctx.spec.models;
  const records: BatchItemRecord[] = entries.map((e, i): BatchItemRecord => {
    const o = firstOrdinal + i;
    if (!e.ok) {
      return {
        v: 1,
        o,
        bucket: ctx.spec.source.bucket,
        key: '',
        action: 'fail',
        error: { code: 'manifest_line_invalid', message: e.message },
        line: e.line,
      };
    }
    const base = {
      v: 1 as const,
      o,
      bucket: e.bucket,
      key: e.key,
      ...(e.etag !== undefined ? { etag: e.etag } : {}),
      ...(e.size !== undefined ? { size: e.size } : {}),
      ...(e.line !== undefined ? { line: e.line } : {}),
      ...(e.metadata !== undefined ? { metadata: e.metadata } : {}),
    };
    if (!ctx.allowedBuckets.includes(e.bucket)) {
      return {
        ...base,
        action: 'fail',
        error: {
          code: 'bucket_not_allowed',
          message: `Bucket "${e.bucket}" is not in this key's allow-list`,
        },
      };
    }
    if (e.bucket === ctx.ownBucket && ctx.ownPrefixes.some((p) => e.key.startsWith(p))) {
      return {
        ...base,
        action: 'fail',
        error: {
          code: 'key_not_allowed',
          message: `s3://${e.bucket}/${e.key} is labelq's own storage, not a source`,
        },
      };
    }
    const reason = filterReason(e, ctx.spec.filter);
    const id = objectImageId(ctx.tenant, e.bucket, e.key, names);
    if (reason !== undefined) return { ...base, id, action: 'skip', reason };
    return { ...base, id, action: 'queue' };
  });

  if (needsLookup(ctx.spec.mode)) {
    const candidates = records.filter((r) => r.action === 'queue');
    await mapLimit(candidates, ctx.lookupConcurrency, async (r) => {
      let existing: ExistingResult;
      try {
        existing = existingResult(await s3.getJson(s3.bucket, s3.resultKey(ctx.tenant, r.id!)));
      } catch (err) {
        // A corrupt document is rewritten by the job; only an outage stops the page.
        if (toLabelqError(err).retryable) throw err;
        existing = { status: 'none' };
      }
      let etag = r.etag;
      if (etag === undefined && existing.status === 'completed') {
        // A manifest line says no ETag: one HEAD, only for objects that have a result to compare.
        etag = (await s3.headObject(r.bucket, r.key))?.etag;
        if (etag === undefined) return; // gone: queue it, the job fails with object_not_found
        r.etag = etag;
      }
      const d = modeDecision(ctx.spec.mode, existing, {
        etag,
        models: ctx.models,
        policyVersion: ctx.policyVersion,
      });
      if (d.action === 'skip') {
        r.action = 'skip';
        r.reason = d.reason;
      }
    });
  }
  const skipped: Partial<Record<SkipReason, number>> = {};
  const failedByCode: Record<string, number> = {};
  let queue = 0;
  for (const r of records) {
    if (r.action === 'skip') skipped[r.reason!] = (skipped[r.reason!] ?? 0) + 1;
    else if (r.action === 'fail') failedByCode[r.error!.code] = (failedByCode[r.error!.code] ?? 0) + 1;
    else queue++;
  }
  return { records, skipped, failedByCode, queue };
}
