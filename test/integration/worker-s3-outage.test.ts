// An S3 outage longer than the whole retry window (issue #15, item 1): the worker's circuit breaker pauses
// intake, hands jobs back without spending attempts, probes S3 with backoff and resumes when it answers; every
// job completes. Meanwhile /readyz says why the worker takes no work and /metrics counts the handed-back
// attempts as `requeued`, not as failures. Real Redis, s3rver behind our TCP fault proxy, the real model.
import type { StoredJobPayload } from '@labelq/contracts';
import { resolveRedis, type ResolvedRedis } from '@labelq/dev-services';
import { createInferencePool, type InferencePool } from '@labelq/inference';
import { createObjectStore } from '@labelq/storage';
import { createWorkerRuntime, startWorkerHttp, type WorkerHttp, type WorkerRuntime } from '@labelq/worker';
import type { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelsDir, readPhoto } from '../fixtures/index.ts';
import { testConfig, uniqueName } from '../helpers/env.ts';
import { enqueue, s3Job, testQueue, waitForJob } from '../helpers/jobs.ts';
import { sample, scrape } from '../helpers/prometheus.ts';
import { startLocalS3, type LocalS3 } from '../helpers/s3.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

const MODELS = ['nsfw-mobilenet-v2'];
const BUCKET = 'outage-it';
const JOBS = 12;

describe('worker S3 outage (circuit breaker)', () => {
  let redis: ResolvedRedis;
  let s3: LocalS3;
  let proxy: TcpProxy;
  let pool: InferencePool;
  let runtime: WorkerRuntime | undefined;
  let http: WorkerHttp | undefined;
  let queue: Queue<StoredJobPayload> | undefined;
  const prefix = uniqueName('outage');

  beforeAll(async () => {
    redis = await resolveRedis(process.env.REDIS_URL);
    s3 = await startLocalS3([BUCKET]);
    proxy = await startTcpProxy({ host: '127.0.0.1', port: s3.port });
    pool = await createInferencePool({ modelsDir, models: MODELS, threads: 1 });
  });
  afterAll(async () => {
    await http?.close();
    await runtime?.close();
    if (queue) {
      await queue.obliterate({ force: true });
      await queue.close();
    }
    await pool.close();
    await proxy.close();
    await s3.stop();
    await redis.stop();
  });

  it('pauses intake while S3 is unreachable and completes every job once it answers, attempts unspent', async () => {
    const config = testConfig({
      redisUrl: redis.url,
      s3Endpoint: proxy.endpoint,
      bucket: BUCKET,
      queueName: uniqueName('outage'),
      prefix,
      extra: {
        // Two attempts 100 ms apart: without the breaker every job fails long before S3 returns.
        JOB_ATTEMPTS: '2',
        JOB_BACKOFF_MS: '100',
        WORKER_CONCURRENCY: '3',
        S3_CONNECT_TIMEOUT_MS: '500',
        S3_REQUEST_TIMEOUT_MS: '3000',
      },
    });
    const direct = createObjectStore(config.s3, s3.client);
    const photo = readPhoto('chelsea');
    const jobs = Array.from({ length: JOBS }, (_, i) => s3Job(BUCKET, `${prefix}/src/${i}.jpg`, MODELS));
    for (const j of jobs) await direct.putObject(BUCKET, j.key, photo);

    runtime = await createWorkerRuntime(config, {
      logger: pino({ level: process.env.TEST_LOG ?? 'silent' }),
      pool,
    });
    queue = testQueue(config);
    const rt = runtime;
    http = await startWorkerHttp({
      host: '127.0.0.1',
      port: 0,
      registry: rt.metrics.registry,
      checks: () => rt.readiness,
      logger: pino({ level: 'silent' }),
    });
    proxy.down();
    await enqueue(queue, config, jobs);
    // Far longer than 2 attempts x 100 ms backoff (and the SDK's own retries).
    await new Promise((r) => setTimeout(r, 8000));
    const during = await queue.getJobCounts('completed', 'failed');
    expect(during).toMatchObject({ completed: 0, failed: 0 });
    expect(runtime.worker.isPaused()).toBe(true);
    // Not ready, and the body says why: the breaker is open (besides the results bucket being unreachable).
    // Refused connections read as storage_unavailable, a silent S3 as timeout: both are outages to the breaker.
    const down = await fetch(`${http.url}/readyz`);
    expect(down.status).toBe(503);
    const checks = ((await down.json()) as { checks: Record<string, { ok: boolean; error?: string }> })
      .checks;
    expect(checks['breaker:s3']?.ok).toBe(false);
    expect(checks['breaker:s3']?.error).toMatch(
      /^circuit open since \d{4}-\d\d-\d\dT.* \((storage_unavailable|timeout): .*\): taking no jobs until a probe succeeds$/,
    );
    const metrics = await scrape(`${http.url}/metrics`);
    expect(sample(metrics, 'labelq_worker_circuit_breaker_open', { dependency: 's3' })).toBe(1);
    // Handed back, not failed: no failure is counted, least of all as `internal`.
    expect(sample(metrics, 'labelq_worker_jobs_total', { outcome: 'requeued' })).toBeGreaterThan(0);
    expect(metrics.samples.filter((x) => x.name === 'labelq_worker_job_failures_total')).toEqual([]);
    proxy.up();

    for (const j of jobs) {
      const { state, job } = await waitForJob(queue, j.id, 60_000);
      expect(state, `${j.id}: ${job.failedReason}`).toBe('completed');
      // The outage spent none of its attempts: it completed on its first counted attempt.
      expect(job.attemptsMade).toBe(1);
      const doc = (await direct.getJson(BUCKET, direct.resultKey(j.tenant, j.id))) as { status: string };
      expect(doc.status).toBe('completed');
    }
    expect(runtime.worker.isPaused()).toBe(false);
    expect((await fetch(`${http.url}/readyz`)).status).toBe(200);
    const after = await scrape(`${http.url}/metrics`);
    expect(sample(after, 'labelq_worker_circuit_breaker_open', { dependency: 's3' })).toBe(0);
    expect(sample(after, 'labelq_worker_jobs_total', { outcome: 'completed' })).toBe(JOBS);
    expect(after.samples.filter((x) => x.name === 'labelq_worker_job_failures_total')).toEqual([]);
  });
});
