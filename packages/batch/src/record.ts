import { decodeFailedReason, parseBatchItemJobId, type StoredJobPayload } from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';
import { RateLimitError, UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { BatchStore } from './store.ts';

/**
 * Wraps the classify processor for batch items (job ids `<batch id>.<ordinal>`): a completed job, and a job that
 * failed for good (not retryable, or its last attempt), is recorded in its batch once (see BatchStore
 * recordOutcome: a job redelivered after its worker died counts once). An item of a cancelled batch is not
 * run. Other jobs pass through untouched.
 */
export function withBatchOutcomes<R>(
  processor: (job: Job<StoredJobPayload>) => Promise<R>,
  store: BatchStore,
  logger: Logger,
  abandoned?: AbortSignal,
): (job: Job<StoredJobPayload>) => Promise<R | undefined> {
  return async (job) => {
    const item = parseBatchItemJobId(job.id);
    if (item === undefined) return processor(job);
    const status = await store.redis.hget(store.keys(item.batchId).hash, 'status');
    if (status === 'cancelled') return undefined;
    let result: R;
    try {
      result = await processor(job);
    } catch (err) {
      // A job handed back during a dependency outage (the worker's circuit breaker) is not finished at all.
      const deferred = err instanceof RateLimitError;
      const final =
        !deferred && (err instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1));
      if (final && !abandoned?.aborted) {
        const code = decodeFailedReason((err as Error).message).code;
        await store
          .recordOutcome(item.batchId, item.ordinal, { status: 'failed', code })
          .catch((e: unknown) =>
            logger.error({ err: e, jobId: job.id }, 'could not record the batch item failure'),
          );
      }
      throw err;
    }
    try {
      await store.recordOutcome(item.batchId, item.ordinal, { status: 'completed' });
    } catch (err) {
      // The result is written; a retry reuses it and records the outcome then.
      throw new LabelqError('queue_unavailable', 'Could not record the batch item outcome in Redis', {
        cause: err,
      });
    }
    return result;
  };
}
