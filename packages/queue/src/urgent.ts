// Urgent (moderation) jobs and the workers' urgent lanes (WORKER_URGENT_CONCURRENCY). BullMQ cannot keep worker
// slots for some priorities within one queue: a worker takes the queue's next job whatever it is. So each worker
// process has a second BullMQ worker that fetches only while an urgent job is next in the queue, woken by a hint
// the API leaves in a Redis list when it queues or raises one: one hint wakes one lane (BLPOP), not every worker.
import type { Job, QueueBase } from 'bullmq';
import type { Redis } from 'ioredis';
import { PRIORITY } from './job.ts';

/** BullMQ's prioritized set scores a job `priority * 2^32 + counter` (bullmq commands/includes/getPriorityScore). */
const PRIORITY_SCORE_UNIT = 0x100000000;
/** Hints older than this wake nothing useful (their jobs ran long ago): a list nobody drains goes away. */
const HINTS_TTL_MS = 60_000;
/** More hints than this wake lanes for nothing: a burst of moderation jobs needs at most one per lane slot. */
const MAX_HINTS = 1000;

/** The hint list of a queue, beside BullMQ's keys (`<prefix>:<queue>:labelq-urgent`; expires HINTS_TTL_MS after the last hint). */
export function urgentHintsKey(queue: Pick<QueueBase, 'toKey'>): string {
  return queue.toKey('labelq-urgent');
}

/** Whether a job with this BullMQ priority is urgent (moderation; 0 is BullMQ's "no priority"). */
export function isUrgentPriority(priority: number): boolean {
  return priority > 0 && priority <= PRIORITY.moderation;
}

/** Whether `job` is urgent now: queued for moderation, or a tagging job a moderation submission raised since. */
export function isUrgentJob(job: Pick<Job, 'priority'>): boolean {
  return isUrgentPriority(job.priority);
}

/** The priority of a prioritized-set member from its score. */
export function priorityOfScore(score: number): number {
  return Math.floor(score / PRIORITY_SCORE_UNIT);
}

/**
 * Leaves `count` hints for the urgent lanes (the API, after it queued or raised `count` urgent jobs). Best effort:
 * a lost hint costs latency only, since lanes also look every second and busy workers take urgent jobs first.
 */
export async function hintUrgentJobs(redis: Redis, key: string, count: number): Promise<void> {
  if (count <= 0) return;
  await redis
    .multi()
    .rpush(key, ...Array.from({ length: Math.min(count, MAX_HINTS) }, () => '1'))
    .ltrim(key, -MAX_HINTS, -1)
    .pexpire(key, HINTS_TTL_MS)
    .exec();
}

/**
 * Whether the job BullMQ's next fetch would take is urgent. moveToActive takes the wait list (jobs without a
 * priority) first, then the lowest score of the prioritized set.
 */
export async function urgentJobIsNext(redis: Redis, queue: Pick<QueueBase, 'toKey'>): Promise<boolean> {
  const replies = await redis
    .multi()
    .llen(queue.toKey('wait'))
    .zrange(queue.toKey('prioritized'), 0, 0, 'WITHSCORES')
    .exec();
  if (replies === null) return false;
  const [[waitErr, waiting], [headErr, head]] = replies as [[Error | null, number], [Error | null, string[]]];
  if (waitErr !== null) throw waitErr;
  if (headErr !== null) throw headErr;
  if (waiting > 0 || head.length < 2) return false;
  return isUrgentPriority(priorityOfScore(Number(head[1])));
}
