// Drives one BullMQ variant: warm-up jobs, then the measured jobs released all at once, waiting on job counts.
import { Queue, type Worker } from 'bullmq';
import type { Config } from '@labelq/config';
import {
  DEFAULT_TENANT,
  JOB_PAYLOAD_VERSION,
  normalizeModels,
  objectImageId,
  type ClassifyJob,
} from '@labelq/contracts';
import { classifyJob } from '@labelq/queue';
import { PhaseMeter, type PhaseNumbers } from '../metrics.ts';
import type { BenchImage, VariantSpec } from '../protocol.ts';
import { reason } from './common.ts';

/** Job counts are polled this often; cheap (one Redis round trip) so it barely touches the event loop. */
const POLL_MS = 200;
/** Jobs per addBulk call while the queue is paused. */
const ADD_CHUNK = 500;

/** Stalls and lock errors seen by a worker this harness watches. */
export class WorkerWatch {
  stalled = 0;
  lockErrors = 0;
  readonly errors: string[] = [];

  attach(worker: Worker): void {
    worker.on('stalled', () => this.stalled++);
    worker.on('error', (err) => this.record(err));
    worker.on('failed', (_job, err) => this.record(err));
  }

  private record(err: Error): void {
    if (/lock/i.test(err.message)) this.lockErrors++;
    if (this.errors.length < 5) this.errors.push(reason(err));
  }
}

function jobData(config: Config, image: BenchImage, models: string[]): ClassifyJob {
  const sorted = normalizeModels(models);
  return {
    v: JOB_PAYLOAD_VERSION,
    tenant: DEFAULT_TENANT,
    id: objectImageId(DEFAULT_TENANT, config.s3.bucket, image.key, sorted),
    bucket: config.s3.bucket,
    key: image.key,
    models: sorted,
    purpose: 'tagging',
    origin: 's3',
    submittedAt: new Date().toISOString(),
    // As the API marks an id it found neither in Redis nor in S3 (each run has its own results prefix).
    noPriorResult: true,
  };
}

async function addJobs(
  queue: Queue,
  config: Config,
  images: readonly BenchImage[],
  models: string[],
): Promise<void> {
  for (let i = 0; i < images.length; i += ADD_CHUNK) {
    await queue.addBulk(
      // The payload and options the API gives every classify job (attempts, labelq's backoff, retention).
      images.slice(i, i + ADD_CHUNK).map((image) => classifyJob(config, jobData(config, image, models))),
    );
  }
}

async function waitForFinished(
  queue: Queue,
  target: number,
  onProgress: (finished: number) => void,
): Promise<{ completed: number; failed: number }> {
  for (;;) {
    const counts = await queue.getJobCounts('completed', 'failed');
    const completed = counts.completed ?? 0;
    const failed = counts.failed ?? 0;
    onProgress(completed + failed);
    if (completed + failed >= target) return { completed, failed };
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export interface QueuePhase {
  phase: PhaseNumbers;
  failed: number;
  notes: string[];
}

/**
 * With the worker already started by the caller: runs the warm-up jobs to completion (models loaded, JIT warm,
 * connections open), pauses the queue, adds the measured jobs, then resumes it and measures until every
 * measured job completed or failed. Failed jobs are counted and their first reasons noted.
 */
export async function measureQueue(spec: VariantSpec, config: Config): Promise<QueuePhase> {
  const queue = new Queue(config.queue.name, {
    connection: { url: config.redis.url },
    prefix: config.queue.prefix,
  });
  try {
    const notes: string[] = [];
    await addJobs(queue, config, spec.warmup, spec.models);
    const warm = await waitForFinished(queue, spec.warmup.length, () => undefined);
    if (warm.failed > 0) notes.push(`${warm.failed} warm-up job(s) failed`);

    await queue.pause();
    await addJobs(queue, config, spec.images, spec.models);
    const meter = new PhaseMeter(spec.images.length, spec.loopResolutionMs);
    const target = spec.warmup.length + spec.images.length;
    const before = warm.completed + warm.failed;
    meter.start();
    await queue.resume();
    const done = await waitForFinished(queue, target, (finished) => meter.progress(finished - before));
    const phase = meter.stop();

    const failed = done.failed - warm.failed;
    if (failed > 0) {
      for (const job of await queue.getFailed(0, 2)) notes.push(`job ${job.id} failed: ${job.failedReason}`);
    }
    return { phase, failed, notes };
  } finally {
    await queue.close();
  }
}
