// Variant 3, "main-thread": the same BullMQ worker doing S3 + sharp + ORT on its own main thread (the design
// labelq forbids: ORT's session.run blocks the event loop, so lock renewals and Redis replies wait).
import { Worker } from 'bullmq';
import { loadConfig } from '@labelq/config';
import type { ClassifyJobData } from '@labelq/queue';
import type { ChildResult, VariantSpec } from '../protocol.ts';
import { childResult } from './common.ts';
import { createInlineProcessor } from './inline-processor.ts';
import { measureQueue, WorkerWatch } from './queue-harness.ts';

export async function runMainThread(spec: VariantSpec): Promise<ChildResult> {
  const config = loadConfig(spec.env);
  // What a main-thread design gets by default: ORT spreads one session over every core labelq's pool would use.
  const intraOp = config.pool.threads * config.pool.intraOpThreads;
  const processor = await createInlineProcessor(config, spec.models, intraOp);
  const watch = new WorkerWatch();
  const worker = new Worker<ClassifyJobData, number>(
    config.queue.name,
    (job) => processor.process(job.data),
    {
      connection: { url: config.redis.url },
      prefix: config.queue.prefix,
      concurrency: config.worker.concurrency,
      lockDuration: config.worker.lockDurationMs,
    },
  );
  watch.attach(worker);
  try {
    const { phase, failed, notes } = await measureQueue(spec, config);
    notes.push(`one ORT session per model on the main thread, intraOpNumThreads ${intraOp}`);
    notes.push(...watch.errors.map((e) => `worker error: ${e}`));
    return childResult(spec, phase, {
      failed,
      stalled: watch.stalled,
      lockErrors: watch.lockErrors,
      settings: { poolThreads: 0, intraOpThreads: intraOp, concurrency: config.worker.concurrency },
      notes,
    });
  } finally {
    await worker.close();
    processor.close();
  }
}
