import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { imageIdSchema, modelNameSchema } from './ids.ts';
import { purposeSchema } from './job-payload.ts';

/**
 * Batches: one request that tags every object under an S3 prefix or in a manifest. What crosses a process
 * boundary is here: the create request (API), the batch as `GET /v1/batches/:id` answers it (API, CLI), the
 * item records the lister writes to S3 (lister, exporter, report) and the export lines. Every record carries
 * `v`; readers accept every version written.
 */
export const BATCH_SCHEMA_VERSION = 1;

/** `bat_` then 24 hex digits (random: a batch id says nothing about its tenant or source). */
export const BATCH_ID_PATTERN = /^bat_[0-9a-f]{24}$/;
export const batchIdSchema = z.string().regex(BATCH_ID_PATTERN, 'not a labelq batch id');

export function newBatchId(): string {
  return `bat_${randomBytes(12).toString('hex')}`;
}

export function isBatchId(value: unknown): value is string {
  return typeof value === 'string' && BATCH_ID_PATTERN.test(value);
}

/**
 * The BullMQ job id of a batch's item: the batch id and the item's ordinal (its position in the listing or
 * manifest). Deterministic, so an item queued twice (a lister killed between queueing and its checkpoint) is
 * one job: BullMQ ignores an add whose id it holds. Distinct from the image id on purpose: an ad-hoc job or
 * an earlier batch holding the image id must not swallow this batch's item.
 */
export function batchItemJobId(batchId: string, ordinal: number): string {
  return `${batchId}.${ordinal}`;
}

/** The batch and ordinal a classify job's id names; undefined for jobs that are not batch items. */
export function parseBatchItemJobId(
  jobId: string | undefined,
): { batchId: string; ordinal: number } | undefined {
  const m = /^(bat_[0-9a-f]{24})\.(\d{1,15})$/.exec(jobId ?? '');
  return m ? { batchId: m[1]!, ordinal: Number(m[2]) } : undefined;
}

const bucketSchema = z.string().min(3).max(63);

/** Where a batch's objects come from: every key under a prefix, or the lines of a manifest object. */
export const batchSourceSchema = z.union([
  z.object({ bucket: bucketSchema, prefix: z.string().max(1024) }).strict(),
  z
    .object({
      bucket: bucketSchema,
      /** CSV (S3 Batch Operations / Inventory: `bucket,key[,versionId]`, URL-encoded keys) or JSONL (`.jsonl`). */
      manifestKey: z.string().min(1).max(1024),
    })
    .strict(),
]);
export type BatchSource = z.infer<typeof batchSourceSchema>;

/**
 * - `missing` (default): skip objects whose result is current (same ETag, same model files, same policy).
 * - `stale`: re-run only objects that have a result made from other bytes, model files or policy.
 * - `all`: queue everything.
 */
export const batchModeSchema = z.enum(['missing', 'stale', 'all']);
export type BatchMode = z.infer<typeof batchModeSchema>;

export const batchFilterSchema = z
  .object({
    /** Lower-case extensions without the dot (`jpg`, `png`); a key with another extension is skipped. */
    extensions: z
      .array(
        z
          .string()
          .regex(/^\.?[A-Za-z0-9]{1,10}$/)
          .transform((e) => e.replace(/^\./, '').toLowerCase()),
      )
      .min(1)
      .max(50)
      .optional(),
    minBytes: z.number().int().nonnegative().optional(),
    maxBytes: z.number().int().positive().optional(),
    /** ISO time: objects last modified before it are skipped. */
    modifiedAfter: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();
export type BatchFilter = z.infer<typeof batchFilterSchema>;

/** `POST /v1/batches`. */
export const batchCreateRequestSchema = z
  .object({
    source: batchSourceSchema,
    models: z.array(modelNameSchema).min(1).max(20).optional(),
    purpose: purposeSchema.default('tagging'),
    mode: batchModeSchema.default('missing'),
    filter: batchFilterSchema.optional(),
    /** List and decide, queue nothing: the batch completes with the counts that would be queued and skipped. */
    dryRun: z.boolean().default(false),
    /** Small client JSON kept with the batch and echoed in every item's result. */
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type BatchCreateRequest = z.infer<typeof batchCreateRequestSchema>;

export const batchStatusSchema = z.enum(['listing', 'running', 'paused', 'completed', 'cancelled', 'failed']);
export type BatchStatus = z.infer<typeof batchStatusSchema>;

export const batchCountsSchema = z.object({
  /** Objects (or manifest lines) listed so far, filtered ones included. */
  discovered: z.number().int().nonnegative(),
  /** Not queued: filtered out, or the mode found nothing to do (see `skippedByReason`). */
  skipped: z.number().int().nonnegative(),
  /** Queued as classify jobs (a dry run: would be queued). */
  queued: z.number().int().nonnegative(),
  completed: z.number().int().nonnegative(),
  /** Failed items (jobs failed for good, and bad manifest lines), each counted once. */
  failed: z.number().int().nonnegative(),
});
export type BatchCounts = z.infer<typeof batchCountsSchema>;

/** Why an item was skipped. */
export const SKIP_REASONS = [
  'folder',
  'extension',
  'too_small',
  'too_large',
  'modified_before',
  'current',
  'no_result',
] as const;
export const skipReasonSchema = z.enum(SKIP_REASONS);
export type SkipReason = z.infer<typeof skipReasonSchema>;

/** A batch, as `GET /v1/batches/:id` answers it. */
export const batchSchema = z.object({
  v: z.literal(1),
  id: batchIdSchema,
  tenant: z.string(),
  status: batchStatusSchema,
  source: batchSourceSchema,
  models: z.array(modelNameSchema),
  purpose: purposeSchema,
  mode: batchModeSchema,
  filter: batchFilterSchema.optional(),
  dryRun: z.boolean(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  counts: batchCountsSchema,
  failedByCode: z.record(z.string(), z.number().int()),
  skippedByReason: z.record(z.string(), z.number().int()),
  /** Items finished per second since the batch started running (0 before). */
  imagesPerSecond: z.number().nonnegative(),
  /** Seconds until every item queued or still to list finishes at that rate; null while unknown. */
  etaSeconds: z.number().nonnegative().nullable(),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  /** Why a batch failed (unreadable manifest, source bucket gone...). */
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  /** Where the completion report lies (results bucket), once written. */
  report: z.object({ bucket: z.string(), summaryKey: z.string(), failuresKey: z.string() }).optional(),
  links: z.object({ self: z.string(), results: z.string() }),
});
export type Batch = z.infer<typeof batchSchema>;

/** What `POST /v1/batches` answers (202). */
export const batchAcceptedSchema = batchSchema;

/**
 * One listed object or manifest line, as the lister records it in S3 (one JSONL page per listing page) before
 * anything of it is queued: the export, the report and a resumed lister read the batch back from these.
 */
export const batchItemRecordSchema = z.object({
  v: z.literal(1),
  /** Position in the listing (0-based, over the whole batch). */
  o: z.number().int().nonnegative(),
  bucket: z.string(),
  key: z.string(),
  etag: z.string().optional(),
  size: z.number().int().nonnegative().optional(),
  /** The image id (result document key) when the item names a valid object. */
  id: imageIdSchema.optional(),
  action: z.enum(['queue', 'skip', 'fail']),
  reason: skipReasonSchema.optional(),
  /** A bad manifest line: its code and message, and the 1-based line number. */
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  line: z.number().int().positive().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type BatchItemRecord = z.infer<typeof batchItemRecordSchema>;

export const batchItemStatusSchema = z.enum(['completed', 'failed', 'skipped', 'pending', 'cancelled']);

/** One line of `GET /v1/batches/:id/results?format=jsonl` (CSV flattens it). */
export const batchItemOutcomeSchema = z.object({
  ordinal: z.number().int().nonnegative(),
  bucket: z.string(),
  key: z.string(),
  etag: z.string().optional(),
  imageId: imageIdSchema.optional(),
  status: batchItemStatusSchema,
  skipReason: skipReasonSchema.optional(),
  /** Per model: its labels, best first (from the result document; also for items skipped as current). */
  labels: z.record(z.string(), z.array(z.object({ name: z.string(), confidence: z.number() }))).optional(),
  moderation: z.enum(['allow', 'review', 'block']).optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  line: z.number().int().positive().optional(),
});
export type BatchItemOutcome = z.infer<typeof batchItemOutcomeSchema>;
