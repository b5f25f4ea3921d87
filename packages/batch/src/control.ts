import { Queue, type ConnectionOptions } from 'bullmq';
import type { Config } from '@labelq/config';
import { controlQueueName } from './keys.ts';

/** The payload of a control job: which batch to run. */
export interface ControlJob {
  batchId: string;
}

export type ControlQueue = Queue<ControlJob>;

/** The producer side of the batch control queue (API: create, resume, retry-failed). */
export function createControlQueue(config: Config, connection: ConnectionOptions): ControlQueue {
  return new Queue<ControlJob>(controlQueueName(config.queue.name), {
    connection,
    prefix: config.queue.prefix,
  });
}

/**
 * Asks the batch role to run (or go on with) a batch. The job id names the run generation, so a resumed batch
 * gets a fresh job while a repeated request for the same generation is one job.
 */
export async function startBatchRun(queue: ControlQueue, batchId: string, gen: number): Promise<void> {
  await queue.add(
    'run',
    { batchId },
    {
      jobId: `${batchId}-run-${gen}`,
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 },
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
    },
  );
}
