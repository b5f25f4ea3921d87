import type { ImageStatus, Purpose, StoredJobPayload } from '@labelq/contracts';
import { PRIORITY } from '@labelq/queue';
import type { Job } from 'bullmq';

/** What is already known of an image id when it is submitted again. */
export interface Existing {
  status: ImageStatus;
  /** The BullMQ job while Redis holds it; absent when only the S3 document of a finished job is left. */
  job?: Pick<Job<StoredJobPayload>, 'priority'>;
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
 * unless `force` asks to run again. A moderation resubmission of a waiting or running tagging job raises it.
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
    case 'active':
      // Active too: a job a worker holds may go back to waiting (an urgent lane handing back a tagging job it
      // fetched, a stall, a retry), and BullMQ then queues it at the priority its hash holds, which
      // changePriority writes for an active job as well (it cannot move it, and needs not).
      return {
        action: 'duplicate',
        status: existing.status,
        promote:
          wish.purpose === 'moderation' &&
          existing.job !== undefined &&
          existing.job.priority !== PRIORITY.moderation,
      };
  }
}
