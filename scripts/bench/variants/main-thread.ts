// Variant 3, "main-thread": the shipped worker (createWorkerRuntime, same processor, same S3 and result-document
// work) given a pool that runs sharp + ORT on the worker's own main thread: the design labelq forbids, since
// ORT's session.run blocks the event loop, so lock renewals and Redis replies wait.
import { loadConfig } from '@labelq/config';
import { createWorkerRuntime } from '@labelq/worker';
import type { ChildResult, VariantSpec } from '../protocol.ts';
import { benchLogger, childResult } from './common.ts';
import { createInlinePool } from './inline-pool.ts';
import { measureQueue, WorkerWatch } from './queue-harness.ts';

export async function runMainThread(spec: VariantSpec): Promise<ChildResult> {
  const config = loadConfig(spec.env);
  // What a main-thread design gets by default: ORT spreads one session over every core labelq's pool would use.
  const intraOp = config.pool.threads * config.pool.intraOpThreads;
  const pool = await createInlinePool({
    modelsDir: config.models.dir,
    models: spec.models,
    intraOpThreads: intraOp,
    maxInputPixels: config.pool.maxInputPixels,
  });
  const runtime = await createWorkerRuntime(config, { logger: benchLogger(config), pool });
  const watch = new WorkerWatch();
  watch.attach(runtime.worker);
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
    await runtime.close();
    await pool.close();
  }
}
