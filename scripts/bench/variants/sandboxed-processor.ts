// The processor each BullMQ sandbox thread loads (through sandboxed-processor.mjs): the worker's own processor
// (createProcessor: HEAD, result-document check, byte budget, GET, moderation, result document, tags) with
// its own ORT sessions and S3 client, created on the sandbox's first job and reused.
import { workerData } from 'node:worker_threads';
import type { Job } from 'bullmq';
import sharp from 'sharp';
import { loadConfig } from '@labelq/config';
import { loadModerationPolicy } from '@labelq/moderation';
import type { ResultDocument, StoredJobPayload } from '@labelq/contracts';
import { createObjectStore } from '@labelq/storage';
import { ByteBudget, createProcessor } from '@labelq/worker';
import { quietSdkNodeVersionWarning } from '../quiet.ts';
import { benchLogger } from './common.ts';
import { createInlinePool } from './inline-pool.ts';

/** What the sandboxed variant passes each sandbox thread (BullMQ `workerThreadsOptions.workerData`). */
export interface SandboxData {
  env: Record<string, string>;
  models: string[];
}

quietSdkNodeVersionWarning();
// Same per-thread settings as labelq's pool threads: one libvips thread, no cache.
sharp.concurrency(1);
sharp.cache(false);

type Processor = (job: Job<StoredJobPayload>) => Promise<ResultDocument>;
let processor: Promise<Processor> | undefined;

async function build(data: SandboxData): Promise<Processor> {
  const config = loadConfig(data.env);
  const pool = await createInlinePool({
    modelsDir: config.models.dir,
    models: data.models,
    intraOpThreads: config.pool.intraOpThreads,
    maxInputPixels: config.pool.maxInputPixels,
  });
  return createProcessor({
    config,
    pool,
    store: createObjectStore(config.s3),
    policy: await loadModerationPolicy(config.moderation.policyFile),
    budget: new ByteBudget(config.worker.maxBytesInFlight),
    logger: benchLogger(config),
  });
}

export default async function processClassifyJob(job: Job<StoredJobPayload>): Promise<ResultDocument> {
  processor ??= build(workerData as SandboxData);
  return (await processor)(job);
}
