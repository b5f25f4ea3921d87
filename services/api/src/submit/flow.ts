import type { Accepted, ClassifyJob, StoredJobPayload } from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';
import { classifyJob, hintUrgentJobs, PRIORITY, urgentHintsKey } from '@labelq/queue';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ApiDeps } from '../deps.ts';
import { loadDocument, readJobSnapshot, selfLink, type DocumentLog, type JobSnapshot } from '../status.ts';
import { withDeadline } from '../timeout.ts';
import { decide, type Existing } from './decide.ts';
import { findRaceLosses } from './race.ts';
import { sendCompletedCallback } from '../workflow/callbacks.ts';

/** One image to submit. */
export interface Submission {
  job: ClassifyJob;
  /** Re-run a completed image too. */
  force: boolean;
}

export interface SubmitOptions {
  /**
   * Runs before anything is queued, with the jobs about to be queued (none when every submission joined an
   * existing job or result): an upload stores its bytes here, so a duplicate never writes to S3.
   */
  beforeEnqueue?: (jobs: readonly ClassifyJob[]) => Promise<void>;
  /** Where an unreadable stored document is reported (the request's logger). Default: not logged. */
  log?: DocumentLog;
}

/** S3 document reads in flight at once for a bulk lookup. */
const DOCUMENT_READS = 16;

/**
 * The one submit flow of `POST /v1/images` and `POST /v1/jobs`: look up what Redis (else S3) knows of each id,
 * decide (join, re-run or queue; {@link decide}), remove jobs to re-run, queue the rest in one addBulk, and
 * answer each submission, in order, with its real status. BullMQ silently ignores an add whose id it holds,
 * which is why known ids are looked up first.
 */
export async function submit(
  deps: ApiDeps,
  submissions: readonly Submission[],
  timeoutMs: number,
  options: SubmitOptions = {},
): Promise<Accepted[]> {
  const queueOp = <T>(op: () => Promise<T>): Promise<T> =>
    withDeadline(op, timeoutMs, 'queue_unavailable', 'Redis');

  // An id repeated in one request is one job; a moderation or forced repeat wins over a plain one.
  const unique = new Map<string, Submission>();
  for (const s of submissions) {
    const seen = unique.get(s.job.id);
    if (!seen) unique.set(s.job.id, s);
    else {
      const job = s.job.purpose === 'moderation' ? s.job : seen.job;
      // One job, one callback: the first one named.
      const callbackUrl = seen.job.callbackUrl ?? s.job.callbackUrl;
      unique.set(s.job.id, {
        job: { ...job, ...(callbackUrl !== undefined ? { callbackUrl } : {}) },
        force: seen.force || s.force,
      });
    }
  }

  const existing = await findExisting(
    deps,
    queueOp,
    [...unique.values()].map((s) => s.job),
    options.log,
  );
  const answers = new Map<string, Pick<Accepted, 'status' | 'duplicate'>>();
  const toAdd: ClassifyJob[] = [];
  const toReplace: string[] = [];
  const toPromote: Job<StoredJobPayload>[] = [];
  const racePromote: string[] = [];
  const completedCallbacks: ClassifyJob[] = [];
  for (const [id, { job, force }] of unique) {
    const found = existing.get(id);
    const decision = decide(found, { purpose: job.purpose, force });
    if (decision.action === 'duplicate') {
      if (job.callbackUrl !== undefined) {
        // Refused before anything changes; a completed image's callback is sent from its stored result. A client
        // retrying its own submission (after a timeout or a 503) finds the job it queued, with the same
        // callbackUrl: a plain duplicate; a different one could not be added to that job.
        if (decision.status !== 'completed') {
          if (callbackUrlOf(found) !== job.callbackUrl) {
            throw new LabelqError(
              'callback_job_in_progress',
              `Image ${id} is already ${decision.status} from another submission: its callbackUrl (if any) ` +
                'applies; send this one again once it has finished, or subscribe a webhook endpoint',
              { details: { id, status: decision.status } },
            );
          }
        } else completedCallbacks.push(job);
      }
      answers.set(id, { status: decision.status, duplicate: true });
      if (decision.promote && found?.snapshot) toPromote.push(found.snapshot.job);
      continue;
    }
    if (decision.replace) toReplace.push(id);
    // Neither Redis nor S3 knows the id: the worker's first attempt need not look for a stored result.
    toAdd.push(found === undefined ? { ...job, noPriorResult: true } : job);
    answers.set(id, { status: 'queued', duplicate: false });
  }

  // The tenant's open-job cap, all or nothing and before anything changes; released again if queueing fails.
  const reserved = toAdd.map((j) => j.id);
  const tenant = toAdd[0]?.tenant;
  const { openJobs } = deps;
  if (openJobs !== undefined && tenant !== undefined) {
    const cap = deps.config.access.maxOpenJobs;
    if (!(await queueOp(() => openJobs.reserve(tenant, reserved, cap)))) {
      throw new LabelqError(
        'tenant_queue_full',
        `More than ${cap} open jobs for this tenant: submit more once some have finished`,
        { details: { maxOpenJobs: cap, retryAfterSeconds: 30 } },
      );
    }
  }
  let urgentQueued = 0;
  try {
    // Jobs a worker locked meanwhile (retried and started) cannot be removed: they are joined as active.
    const locked = new Set<string>();
    if (toReplace.length > 0) {
      const removed = await queueOp(() => Promise.all(toReplace.map((id) => deps.queue.remove(id))));
      toReplace.forEach((id, i) => removed[i] !== 1 && locked.add(id));
    }
    for (const id of locked) answers.set(id, { status: 'active', duplicate: true });
    const adding = toAdd.filter((j) => !locked.has(j.id));
    if (adding.length > 0) {
      await options.beforeEnqueue?.(adding);
      await queueOp(() => deps.queue.addBulk(adding.map((job) => classifyJob(deps.config, job))));
      urgentQueued = adding.filter((j) => j.purpose === 'moderation').length;
      // A submission of the same id at the same instant may have created it first: join it (duplicate), and
      // raise it to moderation priority when this one is a moderation submission.
      const losses = await queueOp(() => findRaceLosses(deps.queue, adding));
      for (const job of adding) {
        const loss = losses.get(job.id);
        if (loss === undefined) continue;
        answers.set(job.id, { status: 'queued', duplicate: true });
        if (job.purpose === 'moderation' && loss.priority !== PRIORITY.moderation) racePromote.push(job.id);
      }
    }
  } catch (err) {
    if (openJobs !== undefined && tenant !== undefined) {
      await Promise.all(reserved.map((id) => openJobs.release(tenant, id))).catch(() => undefined);
    }
    throw err;
  }
  // A moderation resubmission must not wait behind the tagging backlog: BullMQ re-queues a waiting job at once.
  if (toPromote.length > 0) {
    await queueOp(() => Promise.all(toPromote.map(raiseToModeration)));
  }
  if (racePromote.length > 0) await queueOp(() => promoteRaceWinners(deps, racePromote));
  // Wakes a worker's urgent lane per moderation job queued or raised. Best effort, so the answer does not wait for
  // it: a lost hint costs latency only (a lane also looks every second).
  const urgent = urgentQueued + toPromote.length + racePromote.length;
  if (urgent > 0) {
    const hint = async (): Promise<void> =>
      hintUrgentJobs((await deps.queue.client) as unknown as Redis, urgentHintsKey(deps.queue), urgent);
    void queueOp(hint).catch((err: unknown) => options.log?.warn({ err }, 'urgent lane hint not left'));
  }
  for (const job of completedCallbacks) {
    await queueOp(() => sendCompletedCallback(deps, job.tenant, job.id, job.callbackUrl!));
  }

  return submissions.map(({ job }) => ({
    id: job.id,
    ...answers.get(job.id)!,
    links: { self: selfLink(job.id) },
  }));
}

/** The callbackUrl stored with the job Redis holds for an id (v2 payloads; always normalised). */
function callbackUrlOf(found: Known | undefined): string | undefined {
  const data = found?.snapshot?.job.data;
  return data !== undefined && 'callbackUrl' in data ? data.callbackUrl : undefined;
}

/** What is known of an id: its status, and the Redis snapshot while Redis holds it. */
interface Known extends Existing {
  snapshot?: JobSnapshot;
}

/**
 * What Redis, else the S3 result/failure document, knows of each id. Redis is read for all ids at once (the
 * commands pipeline on one connection); S3 only for the ids Redis does not hold, a few at a time.
 */
async function findExisting(
  deps: ApiDeps,
  queueOp: <T>(op: () => Promise<T>) => Promise<T>,
  jobs: readonly ClassifyJob[],
  log: DocumentLog | undefined,
): Promise<Map<string, Known>> {
  const ids = jobs.map((j) => j.id);
  const tenantOf = new Map(jobs.map((j) => [j.id, j.tenant]));
  const snapshots = await queueOp(() => Promise.all(ids.map((id) => readJobSnapshot(deps.queue, id))));
  const found = new Map<string, Known>();
  const gone: string[] = [];
  ids.forEach((id, i) => {
    const snapshot = snapshots[i];
    if (snapshot) found.set(id, { status: snapshot.status, job: snapshot.job, snapshot });
    else gone.push(id);
  });
  let next = 0;
  const reader = async (): Promise<void> => {
    while (next < gone.length) {
      const id = gone[next++]!;
      // An unreadable document is absent (logged): the id is queued again and the worker rewrites it.
      const doc = await loadDocument(deps.storage, tenantOf.get(id)!, id, log);
      if (doc) found.set(id, { status: doc.status });
    }
  };
  await Promise.all(Array.from({ length: Math.min(DOCUMENT_READS, gone.length) }, reader));
  return found;
}

/**
 * Raises jobs another submission won to moderation priority. A job a worker took meanwhile is raised too:
 * BullMQ's changePriority writes the priority of an active job (without moving it), and the job goes back to
 * waiting at that priority if it is handed back, stalls or is retried.
 */
async function promoteRaceWinners(deps: ApiDeps, ids: readonly string[]): Promise<void> {
  await Promise.all(
    ids.map(async (id) => {
      const job = await deps.queue.getJob(id);
      if (job !== undefined) await raiseToModeration(job);
    }),
  );
}

/** Raises a job to moderation priority; one that ended and was removed meanwhile needs nothing. */
async function raiseToModeration(job: Job<StoredJobPayload>): Promise<void> {
  await job.changePriority({ priority: PRIORITY.moderation }).catch((err: unknown) => {
    if ((err as Error).message?.includes('Missing key')) return;
    throw err;
  });
}
