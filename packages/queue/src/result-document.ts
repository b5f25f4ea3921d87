import type { ErrorCode } from '@labelq/errors';
import type { ModelRef, ModelResult } from '@labelq/models';
import type { Moderation } from '@labelq/moderation';
import type { ClassifyJobData } from './job.ts';

/** The source object a result describes. */
export interface SourceRef {
  bucket: string;
  key: string;
  /** ETag of the bytes classified (quotes included). Results are reused only for the same ETag. */
  etag: string;
  bytes: number;
  contentType?: string | undefined;
}

export interface ResultTimings {
  /** ISO times: when the API accepted the job, when the attempt that produced this document started and ended. */
  submittedAt: string;
  startedAt: string;
  finishedAt: string;
  /** GetObject including the body. */
  downloadMs: number;
  /** Waiting for bytes-in-flight budget. */
  budgetWaitMs: number;
  /** Pool: waiting for a thread, decoding, per model. */
  queueMs: number;
  decodeMs: number;
  models: Record<string, number>;
  totalMs: number;
}

/**
 * The document a worker writes to `${resultsPrefix}${imageId}.json` and returns as the job's value. Stable for
 * a given source ETag and model set: a redelivered job reuses it instead of writing a new one.
 */
export interface ResultDocument {
  status: 'completed';
  /** RESULT_SCHEMA_VERSION of @labelq/models. */
  schemaVersion: number;
  id: string;
  source: SourceRef;
  image: { format: string; width: number; height: number };
  results: ModelResult[];
  /** Present when an NSFW model ran. */
  moderation?: Moderation;
  purpose: ClassifyJobData['purpose'];
  origin: ClassifyJobData['origin'];
  metadata?: Record<string, unknown>;
  provenance: { labelqVersion: string; models: ModelRef[]; attempt: number };
  timings: ResultTimings;
  /**
   * Only in a job's return value, only when the S3 tags could not be written (a refusal such as AccessDenied,
   * or an outage on the last attempt): the result stands and the job completes. Not stored in the document.
   */
  tags?: { written: false; reason: { code: ErrorCode; message: string } };
}

/** Written at the same key when a job fails for good, so status survives the job leaving Redis. */
export interface FailureDocument {
  status: 'failed';
  schemaVersion: number;
  id: string;
  source: { bucket: string; key: string };
  error: { code: ErrorCode; message: string };
  attemptsMade: number;
  timings: { submittedAt: string; finishedAt: string };
}
