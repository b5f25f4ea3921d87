import type { Config } from '@labelq/config';
import { encodeJobPayload, JOB_NAME, type ClassifyJob, type StoredJobPayload } from '@labelq/contracts';
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { BACKOFF_TYPE } from './backoff.ts';
import { PRIORITY } from './job.ts';

/** The classify queue as BullMQ sees it: payloads of any version still accepted. */
export type ClassifyQueue = Queue<StoredJobPayload>;

/** Job options every classify job gets: id = image id (dedup), priority by purpose, attempts, backoff, retention. */
export function classifyJobOptions(config: Config, data: Pick<ClassifyJob, 'id' | 'purpose'>): JobsOptions {
  return {
    jobId: data.id,
    priority: PRIORITY[data.purpose],
    attempts: config.worker.attempts,
    backoff: { type: BACKOFF_TYPE, delay: config.worker.backoffMs },
    removeOnComplete: { age: config.worker.keepCompletedSeconds },
    removeOnFail: { age: config.worker.keepFailedSeconds },
  };
}

/** One classify job ready for `add`/`addBulk`: the stored payload version and its options. */
export function classifyJob(
  config: Config,
  job: ClassifyJob,
): { name: string; data: StoredJobPayload; opts: JobsOptions } {
  return { name: JOB_NAME, data: encodeJobPayload(job), opts: classifyJobOptions(config, job) };
}

/** The classify queue (producer side). */
export function createClassifyQueue(config: Config, connection: ConnectionOptions): ClassifyQueue {
  return new Queue<StoredJobPayload>(config.queue.name, { connection, prefix: config.queue.prefix });
}

/** Adds classify jobs (one addBulk round trip); an existing job id is left as it is (BullMQ dedup). */
export async function enqueueClassify(
  queue: ClassifyQueue,
  config: Config,
  jobs: readonly ClassifyJob[],
): Promise<void> {
  await queue.addBulk(jobs.map((job) => classifyJob(config, job)));
}
