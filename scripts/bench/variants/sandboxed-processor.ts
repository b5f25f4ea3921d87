// The processor each BullMQ sandbox thread loads (through sandboxed-processor.mjs): its own ORT sessions, its
// own S3 client, created on the sandbox's first job and reused.
import { workerData } from 'node:worker_threads';
import type { Job } from 'bullmq';
import sharp from 'sharp';
import { loadConfig } from '@labelq/config';
import type { ClassifyJobData } from '@labelq/queue';
import { createInlineProcessor, type InlineProcessor } from './inline-processor.ts';

/** What the sandboxed variant passes each sandbox thread (BullMQ `workerThreadsOptions.workerData`). */
export interface SandboxData {
  env: Record<string, string>;
  models: string[];
}

// Same per-thread settings as labelq's pool threads: one libvips thread, no cache.
sharp.concurrency(1);
sharp.cache(false);

let processor: Promise<InlineProcessor> | undefined;

export default async function processClassifyJob(job: Job<ClassifyJobData>): Promise<number> {
  const data = workerData as SandboxData;
  processor ??= (async () => {
    const config = loadConfig(data.env);
    return createInlineProcessor(config, data.models, config.pool.intraOpThreads);
  })();
  return (await processor).process(job.data);
}
