import type { Config } from '@labelq/config';
import { LabelqError, toLabelqError } from '@labelq/errors';
import type { InferencePool } from '@labelq/inference';
import {
  DEFAULT_TENANT,
  encodeFailedReason,
  isImageId,
  parseJobPayload,
  RESULT_SCHEMA_VERSION,
  type ClassifyJob,
  type FailureDocument,
  type ResultDocument,
  type StoredJobPayload,
  tenantIdSchema,
} from '@labelq/contracts';
import { moderate, type ModerationPolicy } from '@labelq/moderation';
import { isUrgentJob } from '@labelq/queue';
import type { OpenJobs } from '@labelq/access';
import type { OutcomeRecorder } from '@labelq/index';
import type { ObjectStore, OpenedObject } from '@labelq/storage';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { ByteBudget } from './byte-budget.ts';
import { isCompletedFor, mayHaveStoredResult, modelRefs, reusableResult } from './result-document.ts';
import { labelqOwnedKeys, labelqTags } from './tags.ts';
import { LABELQ_VERSION } from './version.ts';
import { afterCompleted, afterFailed, policyFor, redecidedResult, type WorkerWorkflow } from './workflow.ts';

export interface ProcessorDeps {
  config: Config;
  pool: InferencePool;
  store: ObjectStore;
  policy: ModerationPolicy;
  budget: ByteBudget;
  logger: Logger;
  /**
   * Aborted when the runtime's shutdown deadline abandons in-flight jobs: an abandoned attempt writes no failure
   * document, since another worker re-runs the job. Default: never aborted.
   */
  abandoned?: AbortSignal;
  /**
   * The tenants' open-job reservations (TENANT_MAX_OPEN_JOBS): a job that ends, completed or failed for good,
   * releases its own. Default: none (nothing reserved).
   */
  openJobs?: OpenJobs;
  /**
   * Whether a failure is part of a dependency outage (the runtime's circuit breakers, circuit-breaker.ts): such
   * an attempt goes back to the queue without spending one of the job's attempts, and the breaker pauses
   * intake until the dependency answers. Default: no failure is an outage.
   */
  outage?: (err: LabelqError) => Promise<boolean>;
  /** Tenant policies, the review queue and webhook events (#10). Default: none (`policy` for everyone). */
  workflow?: WorkerWorkflow;
  /** Where each final document goes for the results index (best effort, never fails the job). Default: none. */
  outcomes?: OutcomeRecorder;
}

/**
 * Writes this job's tags on the source object: its models' keys (and moderation), leaving the owner's tags and
 * other model sets' tags alone; no write when nothing changes.
 */
async function writeTags(
  deps: ProcessorDeps,
  data: ClassifyJob,
  doc: ResultDocument,
  log: Logger,
): Promise<void> {
  if (!deps.config.s3.writeTags) return;
  const merged = await deps.store.mergeTags(
    data.bucket,
    data.key,
    labelqTags(doc, deps.config.tags.minConfidence),
    labelqOwnedKeys(doc),
  );
  if (merged.dropped.length > 0) {
    log.warn({ dropped: merged.dropped }, 'object has too many tags; some labelq tags were not written');
  }
}

/**
 * writeTags, except that a failure a retry cannot fix (non-retryable, or this is the last attempt) is a warning
 * recorded as `tags` in the result: the job completes with it. The stored document records it too, so the API
 * answers the same whether it reads the job's value or the document; a later run whose tags are written removes
 * the record again. Rewriting the document is best effort: the result itself is already stored.
 */
async function writeTagsOrRecord(
  deps: ProcessorDeps,
  job: Job<StoredJobPayload>,
  data: ClassifyJob,
  doc: ResultDocument,
  log: Logger,
): Promise<ResultDocument> {
  let out: ResultDocument;
  try {
    await writeTags(deps, data, doc, log);
    if (doc.tags === undefined) return doc;
    const { tags: _stale, ...written } = doc;
    out = written;
  } catch (raw) {
    const err = toLabelqError(raw);
    if (err.retryable && !isLastAttempt(job)) throw err;
    log.warn({ code: err.code, err: raw }, 'could not write the S3 tags; the result document stands');
    out = { ...doc, tags: { written: false, reason: { code: err.code, message: err.message } } };
  }
  await deps.store
    .putJson(deps.config.s3.bucket, deps.store.resultKey(data.tenant, data.id), out)
    .catch((err: unknown) => log.warn({ err }, 'could not record the tag outcome in the result document'));
  return out;
}

function isLastAttempt(job: Job<StoredJobPayload>): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/** One attempt: download (size-capped, byte-budgeted), classify in the pool, moderate, write back. */
async function classifyJob(
  deps: ProcessorDeps,
  job: Job<StoredJobPayload>,
  data: ClassifyJob,
  log: Logger,
  progress: AttemptProgress,
): Promise<ResultDocument> {
  const { config, pool, store } = deps;
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const policy = await policyFor(deps.workflow, deps.policy, data.tenant);
  progress.startedAt = startedAt;
  if (job.stalledCounter > config.worker.maxStalledCount) {
    throw new LabelqError(
      'job_stalled',
      `The job stalled ${job.stalledCounter} times (its worker died, hung or shut down while running it); ` +
        `MAX_STALLED_COUNT is ${config.worker.maxStalledCount}`,
    );
  }
  const resultKey = store.resultKey(data.tenant, data.id);

  const models = modelRefs(pool.manifests, data.models);
  const maxBytes = config.worker.maxObjectBytes;
  // One download (headers and body) gets S3_REQUEST_TIMEOUT_MS in all: the client's timeouts are idle timeouts,
  // and a trickling body would hold the job, its bytes in the budget and its renewed lock indefinitely.
  const deadline = (): AbortSignal =>
    AbortSignal.any([
      AbortSignal.timeout(config.s3.requestTimeoutMs),
      ...(deps.abandoned !== undefined ? [deps.abandoned] : []),
    ]);
  // One GetObject, read in two steps: its headers (ETag, size) arrive first and decide reuse and the byte
  // budget before the body is read. The result-document read runs alongside it, unless the job cannot have a
  // stored result (a new image on its first start: mayHaveStoredResult). Each S3 request costs the main thread
  // ~1 to 2 ms of SDK CPU, so a new image costs two requests fewer than HEAD, then the document, then GET.
  const [openedResult, existingResult] = await Promise.allSettled([
    store.openObject(data.bucket, data.key, { maxBytes, signal: deadline() }),
    mayHaveStoredResult(data, job) ? store.getJson(config.s3.bucket, resultKey) : undefined,
  ]);
  if (openedResult.status === 'rejected') throw openedResult.reason;
  let opened: OpenedObject | undefined = openedResult.value;
  let existing: unknown;
  if (existingResult.status === 'rejected') {
    // A corrupt document is overwritten below; only a storage outage aborts the attempt.
    const e = toLabelqError(existingResult.reason);
    if (e.retryable) {
      opened.discard();
      throw e;
    }
  } else {
    existing = existingResult.value;
  }
  const head = { etag: opened.etag, contentLength: opened.contentLength };
  progress.etag = head.etag;
  const reusable = reusableResult(existing, { etag: head.etag, models, policy });
  if (reusable !== undefined) {
    opened.discard();
    log.info({ resultKey }, 'result document exists for this ETag and model set; reusing it');
    return writeTagsOrRecord(deps, job, data, reusable, log);
  }
  const redecided = redecidedResult(existing, { etag: head.etag, models }, policy);
  if (redecided !== undefined) {
    opened.discard();
    await store.putJson(config.s3.bucket, resultKey, redecided);
    log.info(
      { resultKey, policy: policy.version, decision: redecided.moderation?.decision },
      're-decided from stored scores',
    );
    return writeTagsOrRecord(deps, job, data, redecided, log);
  }

  const tBudget = performance.now();
  // A moderation image (or a raised tagging job) goes ahead of the tagging images waiting for bytes.
  const urgent = data.purpose === 'moderation' || isUrgentJob(job);
  let release = deps.budget.tryAcquire(head.contentLength, { urgent });
  if (release === undefined) {
    // The budget is full: free the connection instead of holding an unread response while we wait, then
    // download again once the bytes are reserved.
    opened.discard();
    opened = undefined;
    release = await deps.budget.acquire(head.contentLength, { urgent });
  }
  let downloaded;
  let classified;
  let size = 0;
  const tDownload = performance.now();
  try {
    downloaded =
      opened !== undefined
        ? { bytes: await opened.read(), etag: opened.etag, contentType: opened.contentType }
        : await store.getObjectBytes(data.bucket, data.key, { maxBytes, signal: deadline() });
    if (downloaded.bytes.length === 0) {
      throw new LabelqError('image_empty', `s3://${data.bucket}/${data.key} is empty`);
    }
    const downloadMs = performance.now() - tDownload;
    // Before classify: the pool transfers (detaches) the buffer.
    size = downloaded.bytes.length;
    classified = {
      // A moderation image (or a tagging job a moderation submission raised) goes before the tagging images
      // queued for the pool's threads, on its urgent threads when one is free.
      ...(await pool.classify(downloaded.bytes, {
        models: data.models,
        urgent,
      })),
      downloadMs,
    };
  } finally {
    release();
  }
  const moderation = moderate(classified.results, policy);
  const doc: ResultDocument = {
    status: 'completed',
    schemaVersion: RESULT_SCHEMA_VERSION,
    id: data.id,
    tenant: data.tenant,
    source: {
      bucket: data.bucket,
      key: data.key,
      etag: downloaded.etag,
      bytes: size,
      contentType: downloaded.contentType,
    },
    image: classified.image,
    results: classified.results,
    ...(classified.properties !== undefined ? { properties: classified.properties } : {}),
    ...(moderation !== undefined ? { moderation } : {}),
    purpose: data.purpose,
    origin: data.origin,
    ...(data.metadata !== undefined ? { metadata: data.metadata } : {}),
    provenance: { labelqVersion: LABELQ_VERSION, models, attempt: job.attemptsMade + 1 },
    timings: {
      submittedAt: data.submittedAt,
      startedAt,
      finishedAt: new Date().toISOString(),
      downloadMs: round(classified.downloadMs),
      budgetWaitMs: round(tDownload - tBudget),
      queueMs: round(classified.timings.queueMs),
      decodeMs: round(classified.timings.decodeMs),
      models: Object.fromEntries(Object.entries(classified.timings.models).map(([k, v]) => [k, round(v)])),
      totalMs: round(performance.now() - t0),
    },
  };
  progress.etag = downloaded.etag;
  await store.putJson(config.s3.bucket, resultKey, doc);
  const out = await writeTagsOrRecord(deps, job, data, doc, log);
  log.info(
    { resultKey, decision: moderation?.decision, totalMs: doc.timings.totalMs },
    'image classified and written back',
  );
  return out;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** What an attempt learned before it failed. */
interface AttemptProgress {
  /** The source ETag, once the GetObject headers arrived. */
  etag?: string;
  /** When the attempt started (ISO), once its payload was valid. */
  startedAt?: string;
}

/**
 * Best effort: the job fails with its own reason either way. Never replaces a completed result for the source
 * bytes this attempt saw (same ETag): that result is still true, whatever failed afterwards.
 */
async function writeFailure(
  deps: ProcessorDeps,
  job: Job<StoredJobPayload>,
  err: LabelqError,
  log: Logger,
  progress: AttemptProgress,
): Promise<FailureDocument | undefined> {
  // The payload may be what failed: write a document only when it names a valid image id and tenant.
  const data = job.data as Partial<Record<keyof ClassifyJob, unknown>>;
  const tenant = tenantOf(job.data);
  if (!isImageId(data.id) || tenant === undefined) return undefined;
  const key = deps.store.resultKey(tenant, data.id);
  if (progress.etag !== undefined) {
    const existing = await deps.store.getJson(deps.config.s3.bucket, key).catch(() => undefined);
    if (isCompletedFor(existing, progress.etag)) {
      log.warn(
        { resultKey: key },
        'keeping the completed result document for this ETag; no failure document',
      );
      return undefined;
    }
  }
  const doc: FailureDocument = {
    status: 'failed',
    schemaVersion: RESULT_SCHEMA_VERSION,
    id: data.id,
    tenant,
    source: { bucket: String(data.bucket), key: String(data.key) },
    error: { code: err.code, message: err.message },
    attemptsMade: job.attemptsMade + 1,
    timings: {
      submittedAt: String(data.submittedAt),
      ...(progress.startedAt !== undefined ? { startedAt: progress.startedAt } : {}),
      finishedAt: new Date().toISOString(),
    },
  };
  try {
    await deps.store.putJson(deps.config.s3.bucket, key, doc);
    return doc;
  } catch (writeErr) {
    log.error({ err: writeErr }, 'could not write the failure document');
    return undefined;
  }
}

/** The tenant a payload names (v1 payloads: the default tenant); undefined when it names an invalid one. */
function tenantOf(payload: unknown): string | undefined {
  const p = payload as { v?: unknown; tenant?: unknown } | null;
  if (p?.v === 1) return DEFAULT_TENANT;
  const parsed = tenantIdSchema.safeParse(p?.tenant);
  return parsed.success ? parsed.data : undefined;
}

/**
 * The BullMQ processor. Errors leave it coded, their message the JSON of a failure reason (`encodeFailedReason`,
 * which the API decodes from BullMQ's failedReason): non-retryable LabelqErrors (poison input) become
 * UnrecoverableError (no retries); retryable ones are rethrown for BullMQ's backoff. On the final attempt a
 * failure document is written at the result key.
 */
export function createProcessor(
  deps: ProcessorDeps,
): (job: Job<StoredJobPayload>) => Promise<ResultDocument> {
  return async (job) => {
    const log = deps.logger.child({
      jobId: job.id,
      imageId: (job.data as { id?: unknown }).id,
      tenant: tenantOf(job.data),
      attempt: job.attemptsMade + 1,
    });
    const progress: AttemptProgress = {};
    // Best effort: a reservation left behind only counts against its tenant's cap, it loses no work.
    const release = async (): Promise<void> => {
      const tenant = tenantOf(job.data);
      const id = (job.data as { id?: unknown }).id;
      if (deps.openJobs === undefined || tenant === undefined || typeof id !== 'string') return;
      await deps.openJobs
        .release(tenant, id)
        .catch((err: unknown) => log.warn({ err }, 'open-job release failed'));
    };
    try {
      // Poison (an invalid payload) fails here, coded, as any other attempt failure below.
      const data = parseJobPayload(job.data);
      const doc = await classifyJob(deps, job, data, log, progress);
      // Before the job completes: a worker that dies here re-runs it and emits again (same event ids).
      await afterCompleted(deps.workflow, data, doc, log);
      await deps.outcomes?.record(doc);
      await release();
      return doc;
    } catch (raw) {
      const err = toLabelqError(raw);
      if (deps.abandoned?.aborted) {
        log.warn(
          { code: err.code, err: raw },
          'attempt abandoned at shutdown; another worker will re-run it',
        );
        throw Object.assign(new Error(encodeFailedReason(err)), { code: err.code });
      }
      if (err.retryable && deps.outage !== undefined && (await deps.outage(err))) {
        log.warn(
          { code: err.code, err: err.message },
          'dependency outage: the job goes back to the queue; this attempt does not count',
        );
        // BullMQ moves a job failed with its rate-limit error back to waiting (priority kept), attempts untouched.
        throw Worker.RateLimitError();
      }
      const final = !err.retryable || isLastAttempt(job);
      log[final ? 'error' : 'warn']({ code: err.code, err: raw, final }, 'attempt failed');
      if (final) {
        const failure = await writeFailure(deps, job, err, log, progress);
        if (failure !== undefined) await deps.outcomes?.record(failure);
        await release();
        await afterFailed(deps.workflow, job, err, log);
      }
      const message = encodeFailedReason(err);
      if (!err.retryable) throw new UnrecoverableError(message);
      throw Object.assign(new Error(message), { code: err.code });
    }
  };
}
