// Variants 2, "pipeline" and "pipeline-nsfw": labelq's design with its default settings: images in S3, jobs
// through BullMQ, inference in the Piscina pool (the worker's main thread only moves bytes), result documents
// and tags written back.
import { Worker } from 'bullmq';
import { loadConfig } from '@labelq/config';
import { createInferencePool } from '@labelq/inference';
import type { ClassifyJobData } from '@labelq/queue';
import type { ChildResult, VariantSpec } from '../protocol.ts';
import { childResult } from './common.ts';
import { createJobIo } from './inline-processor.ts';
import { measureQueue, WorkerWatch } from './queue-harness.ts';

export async function runPipeline(spec: VariantSpec): Promise<ChildResult> {
  const config = loadConfig(spec.env);
  const pool = await createInferencePool({
    modelsDir: config.models.dir,
    models: spec.models,
    threads: config.pool.threads,
    intraOpThreads: config.pool.intraOpThreads,
    maxInputPixels: config.pool.maxInputPixels,
  });
  const io = createJobIo(config);
  const watch = new WorkerWatch();
  const worker = new Worker<ClassifyJobData, number>(
    config.queue.name,
    async (job) => {
      const out = await pool.classify(await io.download(job.data), { models: job.data.models });
      await io.writeBack(job.data, out.image, out.results);
      return out.results.length;
    },
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
    notes.push(
      'bench glue (BullMQ Worker + createInferencePool + S3 I/O); the worker service was not available',
    );
    notes.push(...watch.errors.map((e) => `worker error: ${e}`));
    return childResult(spec, phase, {
      failed,
      stalled: watch.stalled,
      lockErrors: watch.lockErrors,
      settings: {
        poolThreads: pool.threads,
        intraOpThreads: config.pool.intraOpThreads,
        concurrency: config.worker.concurrency,
      },
      notes,
    });
  } finally {
    await worker.close();
    await pool.close();
    io.close();
  }
}
