import {
  decodeFailedReason,
  purposeSchema,
  type ResultDocument,
  type StoredJobPayload,
} from '@labelq/contracts';
import { isErrorCode } from '@labelq/errors';
import { RateLimitError, UnrecoverableError, type Job } from 'bullmq';
import type { WorkerMetrics } from './metrics.ts';

type Processor = (job: Job<StoredJobPayload>) => Promise<ResultDocument>;

/** The job's purpose as a label value: one of the contract's purposes, `unknown` for a payload without one. */
function purposeOf(job: Job<StoredJobPayload>): string {
  const parsed = purposeSchema.safeParse((job.data as { purpose?: unknown } | undefined)?.purpose);
  return parsed.success ? parsed.data : 'unknown';
}

/**
 * What an attempt that threw counts as: failed for good, to be retried, abandoned at shutdown, or requeued (a
 * dependency outage: the circuit breaker handed the job back with BullMQ's rate-limit error, the attempt does
 * not count and nothing failed).
 */
export function failureOutcome(
  err: unknown,
  attemptsMade: number,
  attempts: number,
  abandoned: boolean,
): 'failed' | 'retried' | 'abandoned' | 'requeued' {
  if (abandoned) return 'abandoned';
  if (err instanceof RateLimitError) return 'requeued';
  if (err instanceof UnrecoverableError) return 'failed';
  return attemptsMade + 1 >= attempts ? 'failed' : 'retried';
}

const seconds = (ms: number): number => Math.max(0, ms) / 1000;

/**
 * Wraps the processor to record the worker's job metrics, without touching its logic: the stage timings come
 * from the result document the attempt wrote (`timings`), the outcome and failure code from how it ended. A
 * reused document (same ETag and model set) counts as `reused` and its old timings are not observed again.
 * `state.active` counts the attempts running.
 */
export function instrumentProcessor(
  processor: Processor,
  metrics: WorkerMetrics,
  state: { active: number },
  abandoned?: AbortSignal,
): Processor {
  return async (job) => {
    const startedAt = Date.now();
    state.active++;
    const purpose = purposeOf(job);
    // Backlog age as a worker sees it: only the first attempt (a retry's wait is its backoff, not the backlog).
    if (job.attemptsMade === 0 && job.stalledCounter === 0) {
      metrics.queueWait.observe({ purpose }, seconds(startedAt - job.timestamp - (job.opts.delay ?? 0)));
    }
    try {
      const doc = await processor(job);
      const finishedAt = Date.now();
      const t = doc.timings;
      const reused = Date.parse(t.startedAt) < startedAt - 1000;
      const outcome = reused ? 'reused' : 'completed';
      metrics.jobs.inc({ outcome });
      metrics.attempt.observe({ outcome }, seconds(finishedAt - startedAt));
      if (!reused) {
        metrics.download.observe(seconds(t.downloadMs));
        metrics.budgetWait.observe(seconds(t.budgetWaitMs));
        metrics.poolWait.observe(seconds(t.queueMs));
        metrics.decode.observe(seconds(t.decodeMs));
        for (const [model, ms] of Object.entries(t.models)) metrics.inference.observe({ model }, seconds(ms));
        metrics.writeBack.observe(seconds(finishedAt - Date.parse(t.finishedAt)));
      }
      metrics.endToEnd.observe({ purpose }, seconds(finishedAt - Date.parse(t.submittedAt)));
      return doc;
    } catch (err) {
      const outcome = failureOutcome(
        err,
        job.attemptsMade,
        job.opts.attempts ?? 1,
        abandoned?.aborted ?? false,
      );
      const reason = decodeFailedReason(err instanceof Error ? err.message : String(err));
      const code = isErrorCode(reason.code) ? reason.code : 'internal';
      metrics.jobs.inc({ outcome });
      metrics.attempt.observe({ outcome }, seconds(Date.now() - startedAt));
      if (outcome === 'failed' || outcome === 'retried') {
        metrics.failures.inc({ code, final: String(outcome === 'failed') });
      }
      throw err;
    } finally {
      state.active--;
    }
  };
}
