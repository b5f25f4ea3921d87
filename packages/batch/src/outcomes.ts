import {
  readStoredDocument,
  tryReadStoredDocument,
  type BatchItemOutcome,
  type BatchItemRecord,
  type StoredDocument,
  resultLabels,
} from '@labelq/contracts';
import { toLabelqError } from '@labelq/errors';
import type { ObjectStore } from '@labelq/storage';
import { mapLimit, readPage } from './pages.ts';
import type { BatchState, BatchStore } from './store.ts';

export interface OutcomeDeps {
  store: BatchStore;
  s3: ObjectStore;
  reportsPrefix: string;
  /** Result-document reads at once. Default 16. */
  concurrency?: number;
}

function outcomeOf(
  r: BatchItemRecord,
  bits: { done: boolean; fail: boolean },
  doc: StoredDocument | undefined,
  batchStatus: BatchState['status'],
): BatchItemOutcome {
  const base = {
    ordinal: r.o,
    bucket: r.bucket,
    key: r.key,
    ...(r.etag !== undefined ? { etag: r.etag } : {}),
    ...(r.id !== undefined ? { imageId: r.id } : {}),
    ...(r.line !== undefined ? { line: r.line } : {}),
  };
  const labels =
    doc?.status === 'completed'
      ? {
          ...(doc.source.etag ? { etag: doc.source.etag } : {}),
          labels: Object.fromEntries(doc.results.map((m) => [m.model.name, resultLabels(m)])),
          ...(doc.moderation !== undefined ? { moderation: doc.moderation.decision } : {}),
        }
      : {};
  if (r.action === 'fail') return { ...base, status: 'failed', error: r.error! };
  if (r.action === 'skip') return { ...base, status: 'skipped', skipReason: r.reason!, ...labels };
  if (bits.done) return { ...base, status: 'completed', ...labels };
  if (bits.fail) {
    const error =
      doc?.status === 'failed' ? doc.error : { code: 'internal', message: 'failure document not found' };
    return { ...base, status: 'failed', error };
  }
  return { ...base, status: batchStatus === 'cancelled' ? 'cancelled' : 'pending' };
}

/**
 * Every item's outcome in listing order, one page at a time: memory holds one page of records and documents,
 * whatever the batch size. Labels come from the result documents (also for items skipped as current).
 */
export async function* batchOutcomes(deps: OutcomeDeps, s: BatchState): AsyncGenerator<BatchItemOutcome> {
  const concurrency = deps.concurrency ?? 16;
  for (let n = 0; n < s.pages; n++) {
    const records = await readPage(deps.s3, deps.reportsPrefix, s.tenant, s.id, n);
    const bits = await deps.store.bits(
      s.id,
      records.map((r) => r.o),
    );
    const docs = await mapLimit(records, concurrency, async (r, i) => {
      const needed = r.id !== undefined && (r.action === 'skip' || bits[i]!.done || bits[i]!.fail);
      if (!needed) return undefined;
      try {
        return tryReadStoredDocument(
          await deps.s3.getJson(deps.s3.bucket, deps.s3.resultKey(s.tenant, r.id!)),
        );
      } catch (err) {
        if (toLabelqError(err).retryable) throw err;
        return undefined;
      }
    });
    for (let i = 0; i < records.length; i++) yield outcomeOf(records[i]!, bits[i]!, docs[i], s.status);
  }
}

export { readStoredDocument };

const CSV_LABELS = 3;

function csvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** The CSV header: fixed columns, then per model its top labels (`name:confidence|...`, best first). */
export function csvHeader(models: readonly string[]): string {
  return [
    'ordinal',
    'bucket',
    'key',
    'etag',
    'status',
    'skip_reason',
    'error_code',
    'moderation',
    ...models.map((m) => `${m}_top${CSV_LABELS}`),
  ].join(',');
}

/** One outcome as a CSV row matching {@link csvHeader}. */
export function csvRow(o: BatchItemOutcome, models: readonly string[]): string {
  return [
    String(o.ordinal),
    o.bucket,
    o.key,
    o.etag ?? '',
    o.status,
    o.skipReason ?? '',
    o.error?.code ?? '',
    o.moderation ?? '',
    ...models.map((m) =>
      (o.labels?.[m] ?? [])
        .slice(0, CSV_LABELS)
        .map((l) => `${l.name}:${l.confidence.toFixed(4)}`)
        .join('|'),
    ),
  ]
    .map(csvField)
    .join(',');
}
