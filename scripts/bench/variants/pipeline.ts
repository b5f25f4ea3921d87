// Variants 2, "pipeline" and "pipeline-nsfw": the shipped worker (createWorkerRuntime, the same call as
// services/worker/src/main.ts) with its default settings from loadConfig: images in S3, jobs through BullMQ,
// inference in the Piscina pool, result documents and tags written back.
import { loadConfig } from '@labelq/config';
import { createWorkerRuntime } from '@labelq/worker';
import type { ChildResult, VariantSpec } from '../protocol.ts';
import { benchLogger, childResult } from './common.ts';
import { measureQueue, WorkerWatch } from './queue-harness.ts';

export async function runPipeline(spec: VariantSpec): Promise<ChildResult> {
  const config = loadConfig(spec.env);
  const runtime = await createWorkerRuntime(config, { logger: benchLogger(config) });
  const watch = new WorkerWatch();
  watch.attach(runtime.worker);
  try {
    const { phase, failed, notes } = await measureQueue(spec, config);
    notes.push(`createWorkerRuntime defaults: log level ${config.logLevel}`);
    notes.push(...watch.errors.map((e) => `worker error: ${e}`));
    return childResult(spec, phase, {
      failed,
      stalled: watch.stalled,
      lockErrors: watch.lockErrors,
      settings: {
        poolThreads: runtime.pool.threads,
        intraOpThreads: config.pool.intraOpThreads,
        concurrency: config.worker.concurrency,
      },
      notes,
    });
  } finally {
    await runtime.close();
  }
}
