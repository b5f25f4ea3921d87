import type { ClassifyJobData } from '@labelq/queue';
import type { Job, JobsOptions } from 'bullmq';
import type { ApiDeps } from './deps.ts';
import { decide, findExisting, promoteToModeration, removeForRerun, type LookupDeps } from './resubmit.ts';
import { selfLink, type ImageStatus } from './status.ts';
import { withDeadline } from './timeout.ts';

/** One job of a `POST /v1/jobs` request, ready for addBulk. */
export interface ObjectSubmission {
  job: { name: string; data: ClassifyJobData; opts: JobsOptions };
  /** Re-run a completed key too. */
  force: boolean;
}

/** One item of the answer, in request order. */
export interface AcceptedItem {
  id: string;
  /** The real status: `queued` when queued now, else the existing job's or result's. */
  status: ImageStatus;
  /** True when the item joined an existing job or result instead of queueing work. */
  duplicate: boolean;
  links: { self: string };
}

/**
 * Queues the new (and failed, and forced) jobs of a request in one addBulk and answers each item with its
 * real status: BullMQ silently ignores an add whose id it holds, so known ids are looked up first.
 */
export async function submitJobs(
  deps: ApiDeps,
  submissions: readonly ObjectSubmission[],
  timeoutMs: number,
): Promise<AcceptedItem[]> {
  const { queue } = deps;
  const lookup: LookupDeps = {
    queue,
    storage: deps.storage,
    resultKey: (id) => `${deps.config.s3.resultsPrefix}${id}.json`,
    queueOp: (what, op) => withDeadline(op, timeoutMs, 'queue_unavailable', what),
  };
  // A key repeated in one request is one job; a moderation or forced repeat wins over a plain one.
  const unique = new Map<string, ObjectSubmission>();
  for (const s of submissions) {
    const seen = unique.get(s.job.data.id);
    if (!seen) unique.set(s.job.data.id, s);
    else {
      const job = s.job.data.purpose === 'moderation' ? s.job : seen.job;
      unique.set(s.job.data.id, { job, force: seen.force || s.force });
    }
  }

  const existing = await findExisting(lookup, [...unique.keys()]);
  const answers = new Map<string, { status: ImageStatus; duplicate: boolean }>();
  const toAdd: ObjectSubmission['job'][] = [];
  const toReplace: string[] = [];
  const toPromote: Job<ClassifyJobData>[] = [];
  for (const [id, { job, force }] of unique) {
    const found = existing.get(id);
    const decision = decide(found, { purpose: job.data.purpose, force });
    if (decision.action === 'duplicate') {
      answers.set(id, { status: decision.status, duplicate: true });
      if (decision.promote && found?.job) toPromote.push(found.job);
      continue;
    }
    if (decision.replace) toReplace.push(id);
    toAdd.push(job);
    answers.set(id, { status: 'queued', duplicate: false });
  }

  const locked = toReplace.length > 0 ? await removeForRerun(lookup, toReplace) : new Set<string>();
  for (const id of locked) answers.set(id, { status: 'active', duplicate: true });
  const adding = toAdd.filter((j) => !locked.has(j.data.id));
  if (adding.length > 0) await lookup.queueOp('Redis', () => queue.addBulk(adding));
  if (toPromote.length > 0) await promoteToModeration(lookup, toPromote);

  return submissions.map(({ job }) => {
    const { id } = job.data;
    return { id, ...answers.get(id)!, links: { self: selfLink(id) } };
  });
}
