// The worker's HTTP endpoint on a real worker process (main.ts wiring) against a private redis-server, s3rver
// and the real models: /healthz, /readyz (true when ready, false while draining and when Redis is down) and
// /metrics after real jobs and their webhook deliveries to a real receiver (names, labels and values).
import { DEFAULT_TENANT } from '@labelq/contracts';
import { startRedisServer, type RedisServerHandle } from '@labelq/dev-services';
import { WebhookStore } from '@labelq/webhooks';
import { Redis } from 'ioredis';
import { createObjectStore, type ObjectStore } from '@labelq/storage';
import type { Queue } from 'bullmq';
import type { StoredJobPayload } from '@labelq/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readPhoto } from '../fixtures/index.ts';
import { testConfig, testEnv, uniqueName } from '../helpers/env.ts';
import { enqueue, s3Job, testQueue, waitForJob } from '../helpers/jobs.ts';
import { sample, scrape } from '../helpers/prometheus.ts';
import { startLocalS3, type LocalS3 } from '../helpers/s3.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { WebhookReceiver } from '../helpers/webhook-receiver.ts';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process.ts';

const MODELS = ['nsfw-mobilenet-v2'];
const BUCKET = 'worker-http-it';

interface Ready {
  status: string;
  checks: Record<string, { ok: boolean; error?: string }>;
}

async function readyz(base: string): Promise<{ status: number; body: Ready }> {
  const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: (await res.json()) as Ready };
}

/** The URL the worker logged for its HTTP endpoint. */
async function workerUrl(w: WorkerProcess): Promise<string> {
  await w.waitFor(/"msg":"worker http listening"/);
  const m = /"url":"(http:\/\/[^"]+)","msg":"worker http listening"/.exec(w.output());
  if (!m?.[1]) throw new Error(`no worker url in:\n${w.output()}`);
  return m[1];
}

describe('worker HTTP endpoint (process)', () => {
  let s3: LocalS3;
  let inspect: ObjectStore;
  const receiver = new WebhookReceiver();
  const prefix = uniqueName('whttp');
  const open: {
    redis?: RedisServerHandle;
    worker?: WorkerProcess;
    queue?: Queue<StoredJobPayload>;
    proxy?: TcpProxy;
  }[] = [];

  beforeAll(async () => {
    s3 = await startLocalS3([BUCKET]);
    await receiver.start();
    // The completed job's event is taken; the failed job's receiver fails both attempts (then dead-letters).
    receiver.on('/failed', 500);
    inspect = createObjectStore(testConfig({ s3Endpoint: s3.endpoint, bucket: BUCKET }).s3, s3.client);
    await inspect.putObject(BUCKET, `${prefix}/coffee.jpg`, readPhoto('coffee'));
    await inspect.putObject(BUCKET, `${prefix}/garbage.jpg`, Buffer.from('this is not an image at all'));
  });
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.worker?.kill();
      await o.queue?.close();
      await o.proxy?.close();
      await o.redis?.stop();
    }
  });
  afterAll(async () => {
    await s3.stop();
    await receiver.stop();
  });

  async function setup(s3Endpoint = s3.endpoint, extra: Record<string, string> = {}) {
    const redis = await startRedisServer({ args: ['--maxmemory-policy', 'noeviction'] });
    const o = { redis, s3Endpoint };
    const opts = {
      redisUrl: redis.url,
      s3Endpoint: o.s3Endpoint,
      bucket: BUCKET,
      queueName: uniqueName('whq'),
      extra: {
        MODELS: MODELS.join(','),
        POOL_THREADS: '1',
        JOB_BACKOFF_MS: '50',
        S3_RESULTS_PREFIX: `${prefix}/results/`,
        WORKER_HTTP_HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        WEBHOOK_ALLOWED_HOSTS: `127.0.0.1:${receiver.port}`,
        WEBHOOK_RETRY_SCHEDULE_MS: '50',
        TENANT_POLICY_CACHE_MS: '0',
        ...extra,
      },
    };
    const config = testConfig(opts);
    const queue = testQueue(config);
    const worker = spawnWorker(testEnv(opts));
    open.push({ redis, worker, queue });
    return { config, queue, worker, redis };
  }

  it('answers /healthz, is ready, and exports job metrics after real jobs; not ready once Redis is down', async () => {
    const { config, queue, worker, redis } = await setup();
    const base = await workerUrl(worker);
    // Liveness answers during the start checks already; readiness only once the worker runs.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    await worker.waitFor(/worker started/);
    const ready = await readyz(base);
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      status: 'ready',
      checks: {
        draining: { ok: true },
        pool: { ok: true },
        redis: { ok: true },
        s3: { ok: true },
        'breaker:s3': { ok: true },
      },
    });
    const hooks = new Redis(redis.url);
    const store = new WebhookStore(hooks, config.redis.keyPrefix);
    await store.create(DEFAULT_TENANT, { url: receiver.url('/completed'), events: ['image.completed'] });
    await store.create(DEFAULT_TENANT, { url: receiver.url('/failed'), events: ['image.failed'] });
    hooks.disconnect();

    const good = s3Job(BUCKET, `${prefix}/coffee.jpg`, MODELS);
    const bad = s3Job(BUCKET, `${prefix}/garbage.jpg`, MODELS);
    await enqueue(queue, config, [good, bad]);
    expect((await waitForJob(queue, good.id)).state).toBe('completed');
    const failed = await waitForJob(queue, bad.id);
    expect(failed.state).toBe('failed');
    const badCode = (JSON.parse(failed.job.failedReason) as { code: string }).code;
    // One delivery, and the failing receiver's two attempts.
    await expect
      .poll(() => receiver.received.map((r) => r.path).sort(), { timeout: 15_000 })
      .toEqual(['/completed', '/failed', '/failed']);

    // The worker counts an attempt once it recorded it, a moment after the receiver answered.
    const attemptsCounted = async () =>
      (await scrape(`${base}/metrics`)).samples
        .filter((x) => x.name === 'labelq_worker_webhook_deliveries_total')
        .reduce((n, x) => n + x.value, 0);
    await expect.poll(attemptsCounted, { timeout: 5000 }).toBe(3);
    const m = await scrape(`${base}/metrics`);
    expect(sample(m, 'labelq_worker_jobs_total', { outcome: 'completed' })).toBe(1);
    expect(sample(m, 'labelq_worker_jobs_total', { outcome: 'failed' })).toBe(1);
    expect(sample(m, 'labelq_worker_job_failures_total', { code: badCode, final: 'true' })).toBe(1);
    expect(sample(m, 'labelq_worker_queue_wait_seconds_count', { purpose: 'tagging' })).toBe(2);
    expect(sample(m, 'labelq_worker_end_to_end_seconds_count', { purpose: 'tagging' })).toBe(1);
    expect(sample(m, 'labelq_worker_inference_seconds_count', { model: 'nsfw-mobilenet-v2' })).toBe(1);
    expect(sample(m, 'labelq_worker_inference_seconds_sum', { model: 'nsfw-mobilenet-v2' })).toBeGreaterThan(
      0,
    );
    for (const name of ['download', 'decode', 'pool_queue_wait', 'write_back', 'byte_budget_wait']) {
      expect(sample(m, `labelq_worker_${name}_seconds_count`, {})).toBe(1);
    }
    expect(sample(m, 'labelq_worker_end_to_end_seconds_sum', { purpose: 'tagging' })).toBeGreaterThan(0);
    expect(sample(m, 'labelq_worker_pool_threads', {})).toBe(1);
    expect(sample(m, 'labelq_worker_bytes_in_flight_bytes', {})).toBe(0);
    expect(sample(m, 'labelq_worker_bytes_in_flight_limit_bytes', {})).toBe(config.worker.maxBytesInFlight);
    expect(sample(m, 'labelq_worker_draining', {})).toBe(0);
    expect(sample(m, 'nodejs_eventloop_lag_p99_seconds', {})).toBeGreaterThanOrEqual(0);
    expect(sample(m, 'labelq_worker_circuit_breaker_open', { dependency: 's3' })).toBe(0);
    // Webhooks: by outcome and event type, POST durations by outcome, event-to-delivery time.
    const deliveries = (outcome: string, type: string) =>
      sample(m, 'labelq_worker_webhook_deliveries_total', { outcome, event_type: type });
    expect(deliveries('delivered', 'image.completed')).toBe(1);
    expect(deliveries('retrying', 'image.failed')).toBe(1);
    expect(deliveries('dead', 'image.failed')).toBe(1);
    expect(sample(m, 'labelq_worker_webhook_request_duration_seconds_count', { outcome: 'delivered' })).toBe(
      1,
    );
    expect(sample(m, 'labelq_worker_webhook_request_duration_seconds_count', { outcome: 'dead' })).toBe(1);
    expect(sample(m, 'labelq_worker_webhook_delivery_seconds_count', { event_type: 'image.completed' })).toBe(
      1,
    );
    expect(
      sample(m, 'labelq_worker_webhook_delivery_seconds_sum', { event_type: 'image.completed' }),
    ).toBeGreaterThan(0);
    // No label value is an id or a tenant string.
    expect(m.raw).not.toContain(good.id);
    expect(m.raw).not.toContain(prefix);

    await redis.kill('SIGKILL');
    const down = await readyz(base);
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('unavailable');
    expect(down.body.checks.redis?.ok).toBe(false);
    expect(down.body.checks.s3?.ok).toBe(true);
    // Alive all the same: a Redis outage is no reason to restart the worker.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('is not ready while draining (SIGTERM with a job in flight), and exits 0 once the job finished', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(s3.endpoint).port) });
    const { config, queue, worker } = await setup(proxy.endpoint);
    open.at(-1)!.proxy = proxy;
    const base = await workerUrl(worker);
    await worker.waitFor(/worker started/);
    const download = proxy.holdWhen(/^GET [^ ?]*coffee\.jpg[? ]/m);
    const job = s3Job(BUCKET, `${prefix}/coffee.jpg`, MODELS);
    await enqueue(queue, config, [job]);
    await download;
    worker.child.kill('SIGTERM');
    await worker.waitFor(/shutting down/);
    const draining = await readyz(base);
    expect(draining.status).toBe(503);
    expect(draining.body.checks.draining).toEqual({
      ok: false,
      error: 'shutting down: finishing in-flight jobs, taking no new ones',
    });
    expect(sample(await scrape(`${base}/metrics`), 'labelq_worker_draining', {})).toBe(1);
    proxy.release();
    expect(await worker.exited).toBe(0);
    expect((await waitForJob(queue, job.id, 5000)).state).toBe('completed');
  });
});
