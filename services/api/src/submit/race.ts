import { encodeJobPayload, type ClassifyJob } from '@labelq/contracts';
import type { ClassifyQueue } from '@labelq/queue';
import type { Redis } from 'ioredis';

/** What a submission that lost the race for its id learns of the job that won. */
export interface RaceLoss {
  /** The winner's BullMQ priority (0 when it had none). */
  priority: number;
}

/**
 * Which of the `added` jobs some other submission created first. Two submissions of a new id at the same instant
 * both find nothing and both `add`; BullMQ keeps the first and silently ignores the second (same job id), so
 * each one reads back the payload stored under its id, in one pipelined round trip: a payload that is not its
 * own (another submit time, purpose or metadata) means it lost and joins the winner's job. Two byte-identical
 * payloads (same millisecond, same options and metadata) are one submission in every respect that matters, so
 * neither needs to be told apart. An id that is gone again (finished and removed at once) counts as won.
 */
export async function findRaceLosses(
  queue: ClassifyQueue,
  added: readonly ClassifyJob[],
): Promise<Map<string, RaceLoss>> {
  const losses = new Map<string, RaceLoss>();
  if (added.length === 0) return losses;
  // The queue's own connection (a single Redis: labelq does not run on a cluster).
  const client = (await queue.client) as unknown as Redis;
  const pipeline = client.pipeline();
  for (const job of added) pipeline.hmget(queue.toKey(job.id), 'data', 'priority');
  const replies = (await pipeline.exec()) ?? [];
  added.forEach((job, i) => {
    const [err, value] = replies[i] ?? [];
    if (err) throw err;
    const [data, priority] = (value as (string | null)[] | undefined) ?? [];
    if (data === null || data === undefined) return;
    if (data !== JSON.stringify(encodeJobPayload(job))) {
      losses.set(job.id, { priority: Number(priority ?? 0) || 0 });
    }
  });
  return losses;
}
