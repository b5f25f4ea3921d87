// One simulated worker process for scripts/bench/redis-scale.ts: a BullMQ Worker with labelq's settings (lock
// duration, stalled interval, per-minute metrics, the backoff strategy) and a trivial model: it sleeps
// WORK_MS per job (the inference it stands in for) and releases the job's open-job reservation like the real
// processor, so the Redis traffic per job is the real worker's without S3 or ONNX Runtime. Like the real
// processor after an NSFW model ran, it files the result with the review queue (BENCH_MODERATION, default on:
// the default model set has one), and it returns a result of BENCH_RESULT_BYTES (what BullMQ stores with the
// job and in its events stream); scripts/bench/redis-scale-real.ts measures both on the real worker.
import { loadConfig } from '@labelq/config';
import { OpenJobs } from '@labelq/access';
import { backoffDelay, BACKOFF_TYPE, createWorkerConnection } from '@labelq/queue';
import { ReviewQueue } from '@labelq/moderation';
import type { ResultDocument } from '@labelq/contracts';
import { MetricsTime, Worker } from 'bullmq';

const config = loadConfig();
const workMs = Number(process.env.BENCH_WORK_MS ?? '20');
const moderation = process.env.BENCH_MODERATION !== '0';
const padding = 'x'.repeat(Number(process.env.BENCH_RESULT_BYTES ?? '0'));
const connection = createWorkerConnection(config.redis.url);
const openJobs = new OpenJobs(connection, config.redis.keyPrefix);
const reviews = new ReviewQueue(connection, config.redis.keyPrefix);
const worker = new Worker(
  config.queue.name,
  async (job) => {
    await new Promise((r) => setTimeout(r, workMs));
    const data = job.data as { tenant: string; id: string };
    await openJobs.release(data.tenant, data.id);
    // An `allow` decision: the review queue drops the image if it was pending (what the real worker does).
    if (moderation) await reviews.sync(data.tenant, { id: data.id } as ResultDocument);
    return { status: 'completed', id: data.id, padding };
  },
  {
    connection,
    prefix: config.queue.prefix,
    concurrency: config.worker.concurrency,
    lockDuration: config.worker.lockDurationMs,
    maxStalledCount: config.worker.maxStalledCount + 1,
    stalledInterval: Math.min(30_000, config.worker.lockDurationMs),
    metrics: { maxDataPoints: MetricsTime.ONE_WEEK },
    settings: {
      backoffStrategy: (attemptsMade: number, type?: string) =>
        type === BACKOFF_TYPE ? backoffDelay(attemptsMade, config.worker.backoffMs) : config.worker.backoffMs,
    },
  },
);
await worker.waitUntilReady();
process.stdout.write('ready\n');
// Finished jobs go to the parent on stdout (a line every 50 ms at most), so it sees the end without polling
// Redis, which would add to what it measures.
let finished = 0;
let reported = 0;
worker.on('completed', () => finished++);
worker.on('failed', () => finished++);
setInterval(() => {
  if (finished === reported) return;
  process.stdout.write(`finished ${finished - reported}\n`);
  reported = finished;
}, 50).unref();
process.on('SIGTERM', () => {
  void worker.close().then(() => {
    connection.disconnect();
    process.exit(0);
  });
});
