import {
  DEFAULT_TENANT,
  decodeFailedReason,
  readStoredDocument,
  tryReadStoredDocument,
  type ImageStatus,
  type ImageStatusBody,
  type StoredDocument,
  type StoredJobPayload,
} from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';
import type { Logger } from 'pino';
import type { Job, JobState } from 'bullmq';
import type { ClassifyQueue } from '@labelq/queue';
import type { ApiStorage } from './deps.ts';

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

/**
 * The body for a finished image, from its document alone: the API answers exactly this whether the job is
 * still in Redis or only the document in S3 is left.
 */
export function bodyFromDocument(doc: StoredDocument): ImageStatusBody {
  const links = { self: selfLink(doc.id) };
  if (doc.status === 'completed') {
    const { submittedAt, startedAt, finishedAt } = doc.timings;
    return {
      id: doc.id,
      status: 'completed',
      timings: { submittedAt, startedAt, finishedAt },
      attemptsMade: doc.provenance.attempt,
      result: doc,
      links,
    };
  }
  return {
    id: doc.id,
    status: 'failed',
    timings: {
      submittedAt: doc.timings.submittedAt,
      startedAt: doc.timings.startedAt ?? null,
      finishedAt: doc.timings.finishedAt,
    },
    attemptsMade: doc.attemptsMade,
    error: doc.error,
    links,
  };
}

/** What Redis knows of a job: the job and its client-facing state; undefined when BullMQ does not hold it. */
export interface JobSnapshot {
  job: Job<StoredJobPayload>;
  status: ImageStatus;
}

/** Reads the job from Redis (Redis only, so the caller can bound it with the queue deadline). */
export async function readJobSnapshot(queue: ClassifyQueue, id: string): Promise<JobSnapshot | undefined> {
  const job: Job<StoredJobPayload> | undefined = await queue.getJob(id);
  if (!job) return undefined;
  const status = toImageStatus(await job.getState());
  return status ? { job, status } : undefined;
}

/** The body from what Redis holds, for a job that has no (readable) document yet. */
function bodyFromJob(id: string, { job, status }: JobSnapshot): ImageStatusBody {
  const finished = status === 'completed' || status === 'failed';
  return {
    id,
    status,
    timings: {
      submittedAt: typeof job.data.submittedAt === 'string' ? job.data.submittedAt : iso(job.timestamp),
      startedAt: iso(job.processedOn),
      finishedAt: finished ? iso(job.finishedOn) : null,
    },
    attemptsMade: job.attemptsMade,
    ...(status === 'failed' ? { error: decodeFailedReason(job.failedReason) } : {}),
    links: { self: selfLink(id) },
  };
}

/** The tenant a stored payload belongs to (v1 payloads: the default tenant). */
export function jobTenant(job: Job<StoredJobPayload>): string {
  return job.data.v === 1 ? DEFAULT_TENANT : job.data.tenant;
}

/** Where a corrupt document is reported (a request's logger). */
export type DocumentLog = Pick<Logger, 'warn'>;

/**
 * The tenant's image's stored document, valid, or `undefined` when there is none or it is unreadable: a 0-byte
 * or truncated object (a PUT cut mid-body), invalid JSON, a failed schema or an unknown version is treated as
 * absent and logged, never answered as a 500: a resubmission runs the image again and the worker overwrites
 * it. S3 outages still propagate as coded errors.
 */
export async function loadDocument(
  storage: ApiStorage,
  tenant: string,
  id: string,
  log?: DocumentLog,
): Promise<StoredDocument | undefined> {
  try {
    return readStoredDocument(await storage.getDocument(tenant, id));
  } catch (err) {
    if (!(err instanceof LabelqError) || err.code !== 'document_invalid') throw err;
    log?.warn(
      { imageId: id, tenant, code: err.code, err: err.message },
      'stored result document is unreadable: treated as absent',
    );
    return undefined;
  }
}

/**
 * The status of `tenant`'s image `id`: a finished image answers from its document (the job's return value while
 * Redis holds it, else the S3 document under the tenant's prefix); a queued or active one from Redis.
 * `undefined` when neither knows it, and for another tenant's image (answered like a missing one: no existence
 * oracle). S3 errors propagate as coded errors; an unreadable document counts as absent ({@link loadDocument}).
 */
export async function readImageStatus(
  id: string,
  tenant: string,
  snapshot: JobSnapshot | undefined,
  storage: ApiStorage,
  log?: DocumentLog,
): Promise<ImageStatusBody | undefined> {
  if (snapshot !== undefined && jobTenant(snapshot.job) !== tenant) return undefined;
  if (!snapshot) {
    const doc = await loadDocument(storage, tenant, id, log);
    return doc && bodyFromDocument(doc);
  }
  if (snapshot.status === 'completed') {
    // The worker's return value is the result document; S3 holds the same if the value is unreadable.
    // A person's review decision (POST /v1/reviews/:id) rewrites the S3 document after the job completed, so
    // an image the model sent to review answers from S3; every other one from the job's value.
    const fromJob = tryReadStoredDocument(snapshot.job.returnvalue);
    const current = fromJob?.status === 'completed' && fromJob.moderation?.decision !== 'review';
    const doc = (current ? fromJob : undefined) ?? (await loadDocument(storage, tenant, id, log)) ?? fromJob;
    return doc?.status === 'completed' ? bodyFromDocument(doc) : bodyFromJob(id, snapshot);
  }
  if (snapshot.status === 'failed') {
    // The failure document is absent when S3 was down as the job failed: then BullMQ's reason is all there is.
    const doc = await loadDocument(storage, tenant, id, log);
    return doc?.status === 'failed' ? bodyFromDocument(doc) : bodyFromJob(id, snapshot);
  }
  return bodyFromJob(id, snapshot);
}

/** The status a finished job's S3 document records; undefined when there is no valid document. */
export function documentStatus(raw: unknown): ImageStatus | undefined {
  return tryReadStoredDocument(raw)?.status;
}

export function notFound(id: string): LabelqError {
  return new LabelqError('not_found', `No image with id "${id}"`);
}
