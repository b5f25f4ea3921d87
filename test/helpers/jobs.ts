import type { Config } from '@labelq/config';
import {
  DEFAULT_TENANT,
  JOB_PAYLOAD_VERSION,
  normalizeModels,
  objectImageId,
  type ClassifyJob,
  type ResultDocument,
  type StoredJobPayload,
} from '@labelq/contracts';
import { createClassifyQueue, enqueueClassify } from '@labelq/queue';
import type { Job, Queue } from 'bullmq';

/** A classify job payload for an existing S3 object (what `POST /v1/jobs` enqueues). */
export function s3Job(bucket: string, key: string, models: string[], tenant = DEFAULT_TENANT): ClassifyJob {
  const sorted = normalizeModels(models);
  return {
    v: JOB_PAYLOAD_VERSION,
    tenant,
    id: objectImageId(tenant, bucket, key, sorted),
    bucket,
    key,
    models: sorted,
    purpose: 'tagging',
    origin: 's3',
    submittedAt: new Date().toISOString(),
  };
}

export function testQueue(config: Config): Queue<StoredJobPayload> {
  return createClassifyQueue(config, { url: config.redis.url });
}

export async function enqueue(
  queue: Queue<StoredJobPayload>,
  config: Config,
  jobs: ClassifyJob[],
): Promise<void> {
  await enqueueClassify(queue, config, jobs);
}

/** Polls until the job is completed or failed (or `timeoutMs`), and returns it. */
export async function waitForJob(
  queue: Queue<StoredJobPayload>,
  id: string,
  timeoutMs = 60_000,
): Promise<{ state: string; job: Job<StoredJobPayload, ResultDocument> }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await queue.getJob(id)) as Job<StoredJobPayload, ResultDocument> | undefined;
    const state = job ? await job.getState() : 'missing';
    if (job && (state === 'completed' || state === 'failed')) {
      // Read again: the job may have finished between getJob and getState (returnvalue still null then).
      const finished = (await queue.getJob(id)) as Job<StoredJobPayload, ResultDocument> | undefined;
      return { state, job: finished ?? job };
    }
    if (Date.now() > deadline) throw new Error(`job ${id} still ${state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls until the job is active. */
export async function waitForActive(
  queue: Queue<StoredJobPayload>,
  id: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await (await queue.getJob(id))?.getState()) !== 'active') {
    if (Date.now() > deadline) throw new Error(`job ${id} never became active`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
