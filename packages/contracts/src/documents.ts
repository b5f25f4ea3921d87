import { LabelqError } from '@labelq/errors';
import { z } from 'zod';
import { failureReasonSchema } from './failure.ts';
import { imageIdSchema } from './ids.ts';
import { imagePropertiesSchema } from './image-properties.ts';
import { originSchema, purposeSchema, tenantIdSchema } from './job-payload.ts';
import {
  modelRefSchema,
  modelResultSchema,
  modelResultV1Schema,
  moderationSchema,
  upgradeModelResultV1,
} from './model-result.ts';
import { humanReviewSchema, redecisionSchema } from './review.ts';

/**
 * Result and failure documents: what a worker writes to `${S3_RESULTS_PREFIX}<image id>.json` (and returns as
 * the job's value), what the API answers from once the job has left Redis, and what later tools (export, the
 * index) read. Every version ever written stays readable: a reader parses any known `schemaVersion` and upgrades
 * it in memory to the current one. Bump the version on any change an older reader would misread.
 */
export const RESULT_SCHEMA_VERSION = 2;

/** The source object a result describes. */
export const sourceRefSchema = z.object({
  bucket: z.string().min(1),
  key: z.string().min(1),
  /** ETag of the bytes classified (quotes included). Results are reused only for the same ETag. */
  etag: z.string(),
  bytes: z.number().int().nonnegative(),
  contentType: z.string().optional(),
});
export type SourceRef = z.infer<typeof sourceRefSchema>;

const isoTime = z.string();
const ms = z.number().nonnegative();

export const resultTimingsSchema = z.object({
  /** ISO times: when the API accepted the job, when the attempt that produced this document started and ended. */
  submittedAt: isoTime,
  startedAt: isoTime,
  finishedAt: isoTime,
  /** GetObject including the body. */
  downloadMs: ms,
  /** Waiting for the bytes-in-flight budget. */
  budgetWaitMs: ms,
  /** Pool: waiting for a thread, decoding, per model. */
  queueMs: ms,
  decodeMs: ms,
  models: z.record(z.string(), ms),
  totalMs: ms,
});
export type ResultTimings = z.infer<typeof resultTimingsSchema>;

/** The S3 tags could not be written (a refusal such as AccessDenied, or an outage on the last attempt). */
export const tagsNotWrittenSchema = z.object({ written: z.literal(false), reason: failureReasonSchema });

/** The tenant a document belongs to (absent in documents written before tenants: the default tenant's). */
const tenantField = tenantIdSchema.optional();

const resultDocumentV1 = z.object({
  status: z.literal('completed'),
  schemaVersion: z.literal(1),
  id: imageIdSchema,
  tenant: tenantField,
  source: sourceRefSchema,
  /** Format as decoded (v1 workers could write `heif`, hence a string) and the original size. */
  image: z.object({ format: z.string(), width: z.number().int(), height: z.number().int() }),
  results: z.array(modelResultV1Schema),
  /** Present when an NSFW model ran. */
  moderation: moderationSchema.optional(),
  purpose: purposeSchema,
  origin: originSchema,
  /** The submitter's small JSON, echoed. */
  metadata: z.record(z.string(), z.unknown()).optional(),
  provenance: z.object({
    labelqVersion: z.string(),
    models: z.array(modelRefSchema),
    /** The attempt (1-based) that produced the document. */
    attempt: z.number().int().positive(),
  }),
  timings: resultTimingsSchema,
  /** Present only when the result stands but its S3 tags could not be written. */
  tags: tagsNotWrittenSchema.optional(),
  /** A person's decision on a `review` image (`POST /v1/reviews/:id`); `moderation` stays the model's. */
  review: humanReviewSchema.optional(),
  /** Present when `moderation` was re-decided from the stored scores under a newer policy (no inference). */
  redecided: redecisionSchema.optional(),
  /**
   * Perceptual hash, colours, brightness, sharpness of the decoded pixels. Optional, so v1 readers that predate
   * it still read these documents (zod drops the unknown key) and documents without it stay valid.
   */
  properties: imagePropertiesSchema.optional(),
});

const failureDocumentV1 = z.object({
  status: z.literal('failed'),
  schemaVersion: z.literal(1),
  id: imageIdSchema,
  tenant: tenantField,
  source: z.object({ bucket: z.string(), key: z.string() }),
  error: failureReasonSchema,
  attemptsMade: z.number().int().nonnegative(),
  /** `startedAt`: when the final attempt started (absent in documents written before it was recorded). */
  timings: z.object({ submittedAt: isoTime, startedAt: isoTime.optional(), finishedAt: isoTime }),
});

/** v2: each model entry says its task (`classify`, `detect`, `faces`, `text`) and has that task's shape. */
const resultDocumentV2 = resultDocumentV1.extend({
  schemaVersion: z.literal(2),
  results: z.array(modelResultSchema),
});

/** v2 failure documents are v1's, under the version the writer stamps on every document. */
const failureDocumentV2 = failureDocumentV1.extend({ schemaVersion: z.literal(2) });

/** The current result document (a completed image). */
export const resultDocumentSchema = resultDocumentV2;
export type ResultDocument = z.infer<typeof resultDocumentSchema>;

/** The current failure document (an image that failed for good). */
export const failureDocumentSchema = failureDocumentV2;
export type FailureDocument = z.infer<typeof failureDocumentSchema>;

export type StoredDocument = ResultDocument | FailureDocument;

/**
 * Every version ever written, each with its upgrade to the current shape. Adding v2: add its schema here, make
 * it current above, and give v1 an upgrade function that fills what v2 added.
 */
const READERS: Record<number, { schema: z.ZodType; upgrade: (doc: never) => StoredDocument }> = {
  1: {
    schema: z.discriminatedUnion('status', [resultDocumentV1, failureDocumentV1]),
    upgrade: (doc: z.infer<typeof resultDocumentV1> | z.infer<typeof failureDocumentV1>): StoredDocument =>
      doc.status === 'failed'
        ? { ...doc, schemaVersion: 2 }
        : { ...doc, schemaVersion: 2, results: doc.results.map(upgradeModelResultV1) },
  },
  2: {
    schema: z.discriminatedUnion('status', [resultDocumentV2, failureDocumentV2]),
    upgrade: (doc: StoredDocument) => doc,
  },
};

/**
 * Reads a stored result or failure document of any version we wrote, upgraded to the current shape.
 * `undefined` in, `undefined` out (no document). Anything else that is not a valid document of a known
 * version is `document_invalid`.
 */
export function readStoredDocument(raw: unknown): StoredDocument | undefined {
  if (raw === undefined) return undefined;
  const version =
    typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).schemaVersion : undefined;
  const reader = typeof version === 'number' ? READERS[version] : undefined;
  if (!reader) {
    throw new LabelqError(
      'document_invalid',
      `Not a result document of a known version (schemaVersion ${JSON.stringify(version)})`,
    );
  }
  const parsed = reader.schema.safeParse(raw);
  if (!parsed.success) {
    throw new LabelqError('document_invalid', `Invalid result document: ${z.prettifyError(parsed.error)}`);
  }
  return reader.upgrade(parsed.data as never);
}

/** {@link readStoredDocument}, but a missing or unreadable document is `undefined` (it gets rewritten). */
export function tryReadStoredDocument(raw: unknown): StoredDocument | undefined {
  try {
    return readStoredDocument(raw);
  } catch {
    return undefined;
  }
}
