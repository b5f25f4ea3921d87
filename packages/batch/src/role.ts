import { closeQueueClients } from '@labelq/queue';
import { Worker, type ConnectionOptions } from 'bullmq';
import { controlQueueName } from './keys.ts';
import { createControlQueue, startBatchRun, type ControlJob } from './control.ts';
import { runBatch, type RunnerDeps } from './runner.ts';

export interface BatchRole {
  worker: Worker<ControlJob>;
  /** Stops taking batches; running ones stop at their next step (their lease is released, another replica or a restart goes on). */
  close(): Promise<void>;
}

/**
 * The batch role: a BullMQ worker on the control queue, so any replica can pick a batch up, and a killed one's
 * batch moves to another once its lock expires (BullMQ's stalled-job check). Runs up to BATCH_RUNNERS batches
 * at once. A stalled control job is always safe to re-run (every step is checkpointed), hence the high
 * stall allowance.
 */
export function createBatchRole(deps: RunnerDeps, connection: ConnectionOptions): BatchRole {
  const { config } = deps;
  const stop = new AbortController();
  const control = createControlQueue(config, connection);
  const worker = new Worker<ControlJob>(
    controlQueueName(config.queue.name),
    async (job) => {
      await runBatch(deps, job.data.batchId, stop.signal);
      if (!stop.signal.aborted) return;
      // Shutting down mid-batch: hand the batch on as a new run (this job completes), unless it ended meanwhile.
      const s = await deps.store.read(job.data.batchId);
      if (s !== undefined && (s.status === 'listing' || s.status === 'running')) {
        const gen = await deps.store.redis.hincrby(deps.store.keys(s.id).hash, 'gen', 1);
        await startBatchRun(control, s.id, gen);
      }
    },
    {
      connection,
      prefix: config.queue.prefix,
      concurrency: Math.max(1, config.batch.runners),
      lockDuration: config.worker.lockDurationMs,
      stalledInterval: Math.min(30_000, config.worker.lockDurationMs),
      maxStalledCount: 1000,
    },
  );
  worker.on('error', (err) => deps.logger.error({ err }, 'batch role error'));
  return {
    worker,
    close: async () => {
      stop.abort();
      await worker.close();
      // The control producer shares the caller's connection, which the caller ends (closeQueueClients says why).
      await closeQueueClients([control], []);
    },
  };
}
