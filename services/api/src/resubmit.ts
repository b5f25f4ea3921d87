import { PRIORITY, type ClassifyJobData, type Purpose } from '@labelq/queue';
import type { Job, Queue } from 'bullmq';
import type { ApiStorage } from './deps.ts';
import { documentStatus, readJobSnapshot, type ImageStatus } from './status.ts';

/** What is already known of an image id when it is submitted again. */
export interface Existing {
  status: ImageStatus;
  /** The BullMQ job while Redis holds it; absent when only the S3 document of a finished job is left. */
  job?: Job<ClassifyJobData>;
}

/** What a submission does, given what is known of its id. */
export type Decision =
  /**
   * Queue it: the id is new, its last run failed, or (with `force`) it completed and must run again.
   * `replace`: remove the job Redis still holds first, since BullMQ ignores an add with an existing id.
   */
  | { action: 'enqueue'; replace: boolean }
  /** Join the existing job or result; `promote`: raise the waiting job to moderation priority. */
  | { action: 'duplicate'; status: ImageStatus; promote: boolean };

/** A submission's wishes that matter for a known id. */
export interface SubmissionWish {
  purpose: Purpose;
  /** Re-run even when a completed result exists. Default false. */
  force?: boolean;
}

/**
 * Decides what a (re)submission does. A failed run is never final for a resubmission (the cause, e.g. a
 * missing object or an outage, may be gone); a queued or active job is joined; a completed result is reused
 * unless `force` asks to run again. A moderation resubmission of a waiting tagging job moves it ahead.
 */
export function decide(existing: Existing | undefined, wish: SubmissionWish): Decision {
  if (!existing) return { action: 'enqueue', replace: false };
  const replace = existing.job !== undefined;
  switch (existing.status) {
    case 'failed':
      return { action: 'enqueue', replace };
    case 'completed':
      return wish.force === true
        ? { action: 'enqueue', replace }
        : { action: 'duplicate', status: 'completed', promote: false };
    case 'queued':
      return {
        action: 'duplicate',
        status: 'queued',
        promote:
          wish.purpose === 'moderation' &&
          existing.job !== undefined &&
          existing.job.priority !== PRIORITY.moderation,
      };
    case 'active':
      return { action: 'duplicate', status: 'active', promote: false };
  }
}

/** Where known ids are looked up. */
export interface LookupDeps {
  queue: Queue<ClassifyJobData>;
  storage: ApiStorage;
  resultKey: (id: string) => string;
  /** Bounds a Redis operation (the API's dependency deadline). */
  queueOp: <T>(what: string, op: () => Promise<T>) => Promise<T>;
}

/** S3 document reads in flight at once for a bulk lookup. */
const DOCUMENT_READS = 16;

/**
 * What Redis, else the S3 result/failure document, knows of each id. Redis is read for all ids at once (the
 * commands pipeline on one connection); S3 only for the ids Redis does not hold, a few at a time.
 */
export async function findExisting(deps: LookupDeps, ids: readonly string[]): Promise<Map<string, Existing>> {
  const snapshots = await deps.queueOp('Redis', () =>
    Promise.all(ids.map((id) => readJobSnapshot(deps.queue, id))),
  );
  const found = new Map<string, Existing>();
  const gone: string[] = [];
  ids.forEach((id, i) => {
    const snap = snapshots[i];
    if (snap) found.set(id, { status: snap.status, job: snap.job });
    else gone.push(id);
  });
  let next = 0;
  const reader = async (): Promise<void> => {
    while (next < gone.length) {
      const id = gone[next++]!;
      const status = documentStatus(await deps.storage.getJson(deps.resultKey(id)));
      if (status) found.set(id, { status });
    }
  };
  await Promise.all(Array.from({ length: Math.min(DOCUMENT_READS, gone.length) }, reader));
  return found;
}

/**
 * Removes the Redis jobs of ids about to be queued again. Returns the ids BullMQ would not remove because a
 * worker holds their lock (they were retried and started meanwhile): those are answered as active duplicates.
 */
export async function removeForRerun(deps: LookupDeps, ids: readonly string[]): Promise<Set<string>> {
  const removed = await deps.queueOp('Redis', () => Promise.all(ids.map((id) => deps.queue.remove(id))));
  return new Set(ids.filter((_, i) => removed[i] !== 1));
}

/**
 * Moves waiting jobs to moderation priority (a moderation resubmission of a tagging job must not wait behind
 * the tagging backlog). BullMQ re-queues a waiting/prioritized job at once; other states just record it.
 */
export async function promoteToModeration(
  deps: LookupDeps,
  jobs: readonly Job<ClassifyJobData>[],
): Promise<void> {
  await deps.queueOp('Redis', () =>
    Promise.all(jobs.map((job) => job.changePriority({ priority: PRIORITY.moderation }))),
  );
}
