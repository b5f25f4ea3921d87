import type { Config } from '@labelq/config';
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { BACKOFF_TYPE } from './backoff.ts';
import { JOB_NAME, PRIORITY, type ClassifyJobData } from './job.ts';

/** Job options every classify job gets: attempts, labelq's jittered backoff, retention from config. */
export function classifyJobOptions(
  config: Config,
  data: Pick<ClassifyJobData, 'id' | 'purpose'>,
): JobsOptions {
  return {
    jobId: data.id,
    priority: PRIORITY[data.purpose],
    attempts: config.worker.attempts,
    backoff: { type: BACKOFF_TYPE, delay: config.worker.backoffMs },
    removeOnComplete: { age: config.worker.keepCompletedSeconds },
    removeOnFail: { age: config.worker.keepFailedSeconds },
  };
}

/** The classify queue (producer side). */
export function createClassifyQueue(config: Config, connection: ConnectionOptions): Queue<ClassifyJobData> {
  return new Queue<ClassifyJobData>(config.queue.name, { connection, prefix: config.queue.prefix });
}

/** Adds classify jobs (one addBulk round trip); an existing job id is left as it is (BullMQ dedup). */
export async function enqueueClassify(
  queue: Queue<ClassifyJobData>,
  config: Config,
  jobs: readonly ClassifyJobData[],
): Promise<void> {
  await queue.addBulk(jobs.map((data) => ({ name: JOB_NAME, data, opts: classifyJobOptions(config, data) })));
}
