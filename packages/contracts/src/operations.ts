import { z } from 'zod';
import { purposeSchema } from './job-payload.ts';

const count = z.number().int().nonnegative();

/** One purpose's share of the queue. `depth` = waiting + delayed + active. */
export const purposeDepthSchema = z.object({
  depth: count,
  /** Ready to run (BullMQ's `prioritized` set for this purpose's priority). */
  waiting: count,
  /** Waiting for a retry's backoff. */
  delayed: count,
  /** Running in a worker now. */
  active: count,
  /** Seconds since the job at the front of this purpose's line was submitted; 0 when none waits. */
  oldestWaitingAgeSeconds: z.number().nonnegative(),
});
export type PurposeDepth = z.infer<typeof purposeDepthSchema>;

/**
 * `GET /v1/queue/depth`: the autoscaling signal. `depth` = waiting + prioritized + delayed + active, the work
 * the fleet has not finished. Every labelq job has a priority, and BullMQ keeps prioritized jobs in a sorted
 * set, not in the `wait` list (bullmq#2017), so `LLEN bull:<queue>:wait` alone reads 0 under any backlog. KEDA's
 * `metrics-api` scaler reads `valueLocation: depth` (or `byPurpose.moderation.depth`).
 */
export const queueDepthSchema = z.object({
  depth: count,
  states: z.object({
    /** BullMQ's wait (and paused) lists: jobs without a priority. */
    waiting: count,
    prioritized: count,
    delayed: count,
    active: count,
  }),
  byPurpose: z.record(purposeSchema, purposeDepthSchema),
  /** True while the queue is paused (`labelq queue pause`): workers take no new jobs. */
  paused: z.boolean(),
  /**
   * True when the per-purpose delayed or active counts were extrapolated from the first
   * {@link DEPTH_SAMPLE} jobs of a larger set (the totals are always exact).
   */
  approximate: z.boolean(),
  at: z.iso.datetime(),
});
export type QueueDepth = z.infer<typeof queueDepthSchema>;

/** Delayed and active jobs whose priority is read to split them by purpose, at most, per call. */
export const DEPTH_SAMPLE = 2000;

/** Job states the admin operations act on. */
export const FINISHED_STATES = ['completed', 'failed'] as const;

/** `POST /v1/queue/retry`: failed jobs back to the queue, all or those failed with one code. */
export const retryFailedRequestSchema = z.strictObject({
  /** Only jobs whose failure has this error code (e.g. `storage_unavailable`). Default: every failed job. */
  code: z
    .string()
    .regex(/^[a-z_]{1,64}$/)
    .optional(),
  /** At most this many jobs. Default 10000. */
  limit: z.number().int().min(1).max(1_000_000).default(10_000),
});
export type RetryFailedRequest = z.infer<typeof retryFailedRequestSchema>;

/** `POST /v1/queue/clean`: removes finished jobs older than `olderThanSeconds` from Redis (S3 documents stay). */
export const cleanRequestSchema = z.strictObject({
  state: z.enum(FINISHED_STATES),
  olderThanSeconds: z.number().int().min(0),
  /** At most this many jobs. Default 100000. */
  limit: z.number().int().min(1).max(10_000_000).default(100_000),
});
export type CleanRequest = z.infer<typeof cleanRequestSchema>;

/** `POST /v1/queue/drain`: removes every waiting job (and the delayed ones with `delayed: true`); active jobs finish. */
export const drainRequestSchema = z.strictObject({
  delayed: z.boolean().default(false),
});
export type DrainRequest = z.infer<typeof drainRequestSchema>;

/** What an admin operation did. */
export const queueOperationResultSchema = z.object({
  operation: z.enum(['pause', 'resume', 'retry', 'clean', 'drain']),
  /** Jobs it moved or removed (pause and resume: 0). */
  count: count,
  paused: z.boolean(),
});
export type QueueOperationResult = z.infer<typeof queueOperationResultSchema>;
