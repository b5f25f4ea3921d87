// Variant 4, "bullmq-sandboxed": BullMQ's own recipe for CPU-heavy work: a sandboxed processor file run in
// worker threads (`useWorkerThreads`), one sandbox per concurrent job, each loading the models itself.
import { fileURLToPath } from 'node:url';
import { Worker } from 'bullmq';
import { loadConfig } from '@labelq/config';
import type { StoredJobPayload } from '@labelq/contracts';
import type { ChildResult, VariantSpec } from '../protocol.ts';
import { childResult } from './common.ts';
import { measureQueue, WorkerWatch } from './queue-harness.ts';
import type { SandboxData } from './sandboxed-processor.ts';

const PROCESSOR = fileURLToPath(new URL('./sandboxed-processor.mjs', import.meta.url));

export async function runSandboxed(spec: VariantSpec): Promise<ChildResult> {
  const config = loadConfig(spec.env);
  // One sandbox per pool thread: the recipe's way to use the cores. More sandboxes would each load the models.
  const concurrency = config.pool.threads;
  const workerData: SandboxData = { env: spec.env, models: spec.models };
  const watch = new WorkerWatch();
  const worker = new Worker<StoredJobPayload, number>(config.queue.name, PROCESSOR, {
    connection: { url: config.redis.url },
    prefix: config.queue.prefix,
    concurrency,
    lockDuration: config.worker.lockDurationMs,
    useWorkerThreads: true,
    workerThreadsOptions: { workerData },
  });
  watch.attach(worker);
  try {
    const { phase, failed, notes } = await measureQueue(spec, config);
    notes.push(
      `${concurrency} sandbox threads, each with its own ORT sessions (intra-op ${config.pool.intraOpThreads})`,
    );
    notes.push(...watch.errors.map((e) => `worker error: ${e}`));
    return childResult(spec, phase, {
      failed,
      stalled: watch.stalled,
      lockErrors: watch.lockErrors,
      settings: { poolThreads: concurrency, intraOpThreads: config.pool.intraOpThreads, concurrency },
      notes,
    });
  } finally {
    await worker.close();
  }
}
