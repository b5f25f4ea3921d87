import { isErrorCode, LabelqError } from '@labelq/errors';
import type { ClassifyJobData } from '@labelq/queue';
import type { Job, JobState, Queue } from 'bullmq';
import type { ApiStorage } from './deps.ts';

/** What clients see of a job's life. */
export type ImageStatus = 'queued' | 'active' | 'completed' | 'failed';

export interface ImageTimings {
  /** When the API accepted the job (ISO). */
  submittedAt: string | null;
  /** When a worker last started it (ISO). */
  startedAt: string | null;
  /** When it completed or finally failed (ISO). */
  finishedAt: string | null;
}

/** The body of `GET /v1/images/:id`. */
export interface ImageStatusBody {
  id: string;
  status: ImageStatus;
  timings: ImageTimings;
  /** Attempts made so far (from Redis; absent once the job has left Redis). */
  attemptsMade?: number;
  /** The result document (result shape + `moderation`) once completed. */
  result?: unknown;
  /** Why it failed, once failed for good. */
  error?: { code: string; message: string };
  links: { self: string };
}

/** BullMQ's many states, folded into the four clients see. */
export function toImageStatus(state: JobState | 'unknown'): ImageStatus | undefined {
  switch (state) {
    case 'waiting':
    case 'delayed':
    case 'prioritized':
    case 'waiting-children':
      return 'queued';
    case 'active':
      return 'active';
    case 'completed':
      return 'completed';
    case 'failed':
      return 'failed';
    case 'unknown':
      return undefined;
  }
}

export function selfLink(id: string): string {
  return `/v1/images/${id}`;
}

function iso(ms: number | undefined): string | null {
  return typeof ms === 'number' && ms > 0 ? new Date(ms).toISOString() : null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

type Doc = Record<string, unknown>;

function isDoc(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A coded failure out of a result/failure document or a BullMQ failedReason (`code: message` or plain). */
function failureOf(
  doc: Doc | undefined,
  failedReason: string | undefined,
): { code: string; message: string } {
  const err = doc && isDoc(doc.error) ? doc.error : undefined;
  if (err && typeof err.code === 'string') {
    return { code: err.code, message: typeof err.message === 'string' ? err.message : err.code };
  }
  const reason = failedReason ?? 'unknown failure';
  // BullMQ's own message when it fails a job for stalling (workers before MAX_STALLED_COUNT was enforced).
  if (reason === 'job stalled more than allowable limit') return { code: 'job_stalled', message: reason };
  const prefix = /^([a-z_]+)\b/.exec(reason)?.[1];
  return { code: prefix && isErrorCode(prefix) ? prefix : 'internal', message: reason };
}

/** Status from the document the worker writes to S3 when a job finishes (used after it left Redis). */
function fromDocument(id: string, doc: Doc): ImageStatusBody {
  const failed = doc.status === 'failed' || (isDoc(doc.error) && doc.status !== 'completed');
  const timings = isDoc(doc.timings) ? doc.timings : {};
  return {
    id,
    status: failed ? 'failed' : 'completed',
    timings: {
      submittedAt: str(doc.submittedAt) ?? str(timings.submittedAt),
      startedAt: str(doc.startedAt) ?? str(timings.startedAt),
      finishedAt: str(doc.finishedAt) ?? str(timings.finishedAt),
    },
    ...(failed ? { error: failureOf(doc, undefined) } : { result: doc }),
    links: { self: selfLink(id) },
  };
}

/** The status a finished job's S3 document records; undefined when `doc` is not such a document. */
export function documentStatus(doc: unknown): ImageStatus | undefined {
  return isDoc(doc) ? fromDocument('', doc).status : undefined;
}

/** What Redis knows of a job: the job and its client-facing state; undefined when BullMQ does not hold it. */
export interface JobSnapshot {
  job: Job<ClassifyJobData>;
  status: ImageStatus;
}

/** Reads the job from Redis (Redis only, so the caller can bound it with the queue deadline). */
export async function readJobSnapshot(
  queue: Queue<ClassifyJobData>,
  id: string,
): Promise<JobSnapshot | undefined> {
  const job: Job<ClassifyJobData> | undefined = await queue.getJob(id);
  if (!job) return undefined;
  const status = toImageStatus(await job.getState());
  return status ? { job, status } : undefined;
}

/**
 * The status of image `id`: from its Redis snapshot while BullMQ still holds the job, else from the result
 * (or failure) document in S3. `undefined` when neither knows it. S3 errors propagate as coded errors.
 */
export async function readImageStatus(
  id: string,
  snapshot: JobSnapshot | undefined,
  storage: ApiStorage,
  resultKey: string,
): Promise<ImageStatusBody | undefined> {
  if (!snapshot) {
    const doc = await storage.getJson(resultKey);
    return isDoc(doc) ? fromDocument(id, doc) : undefined;
  }
  const { job, status } = snapshot;
  const body: ImageStatusBody = {
    id,
    status,
    timings: {
      submittedAt: job.data.submittedAt ?? iso(job.timestamp),
      startedAt: iso(job.processedOn),
      finishedAt: status === 'completed' || status === 'failed' ? iso(job.finishedOn) : null,
    },
    attemptsMade: job.attemptsMade,
    links: { self: selfLink(id) },
  };
  if (status === 'completed') {
    // The worker's return value is the result document; fall back to S3 if it returned something else.
    const doc = isDoc(job.returnvalue) ? job.returnvalue : await storage.getJson(resultKey);
    if (isDoc(doc)) body.result = doc;
  } else if (status === 'failed') {
    const doc = await storage.getJson(resultKey);
    body.error = failureOf(isDoc(doc) ? doc : undefined, job.failedReason);
  }
  return body;
}

export function notFound(id: string): LabelqError {
  return new LabelqError('not_found', `No image with id "${id}"`);
}
