// Worker processes (tsx services/worker/src/main.ts) against real Redis, s3rver and the real model: crash
// recovery with kill -9, graceful SIGTERM, and the refusal to start on an evicting Redis.
import { freePort, resolveRedis, startRedisServer, type ResolvedRedis } from '@labelq/dev-services';
import type { StoredJobPayload } from '@labelq/contracts';
import { createObjectStore, type ObjectStore } from '@labelq/storage';
import { labelqTags } from '@labelq/worker';
import type { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelsDir, readPhoto } from '../fixtures/index.ts';
import { testConfig, testEnv, uniqueName } from '../helpers/env.ts';
import { enqueue, s3Job, testQueue, waitForActive, waitForJob } from '../helpers/jobs.ts';
import { startLocalS3, type LocalS3 } from '../helpers/s3.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process.ts';

const MODELS = ['nsfw-mobilenet-v2'];
const BUCKET = 'worker-proc-it';

describe('worker processes', () => {
  let redis: ResolvedRedis;
  let s3: LocalS3;
  let inspect: ObjectStore;
  const prefix = `${uniqueName('proc')}/`;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    redis = await resolveRedis(process.env.REDIS_URL);
    s3 = await startLocalS3([BUCKET]);
    inspect = createObjectStore(testConfig({ s3Endpoint: s3.endpoint, bucket: BUCKET }).s3, s3.client);
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await s3.stop();
    await redis.stop();
  });

  function setup(s3Endpoint: string, extra: Record<string, string> = {}) {
    const queueName = uniqueName('wp');
    const opts = {
      redisUrl: redis.url,
      s3Endpoint,
      bucket: BUCKET,
      queueName,
      extra: {
        LOG_LEVEL: 'info',
        MODELS: MODELS.join(','),
        POOL_THREADS: '1',
        WORKER_CONCURRENCY: '2',
        LOCK_DURATION_MS: '2000',
        JOB_BACKOFF_MS: '100',
        S3_RESULTS_PREFIX: `${prefix}results/`,
        ...extra,
      },
    };
    const config = testConfig(opts);
    const queue: Queue<StoredJobPayload> = testQueue(config);
    cleanups.push(async () => {
      await queue.obliterate({ force: true });
      await queue.close();
    });
    return { config, queue, env: (endpoint = s3Endpoint) => testEnv({ ...opts, s3Endpoint: endpoint }) };
  }

  function worker(env: Record<string, string>): WorkerProcess {
    const w = spawnWorker(env);
    cleanups.push(() => w.kill());
    return w;
  }

  async function proxy(): Promise<TcpProxy> {
    const p = await startTcpProxy({ host: '127.0.0.1', port: s3.port });
    cleanups.push(() => p.close());
    return p;
  }

  it('kill -9 mid-job: another worker completes it and the S3 writes equal a single run', async () => {
    const p = await proxy();
    const { config, queue, env } = setup(p.endpoint);
    const key = `${prefix}kill/astronaut.jpg`;
    await inspect.putObject(BUCKET, key, readPhoto('astronaut'));
    const a = worker(env());
    await a.waitFor(/worker started/);
    // Worker A dies between writing the result document and writing the tags.
    const tagging = p.holdWhen(/^PUT [^ ]*\?tagging/m);
    const job = s3Job(BUCKET, key, MODELS);
    await enqueue(queue, config, [job]);
    await tagging;
    const written = await inspect.getObjectBytes(BUCKET, `${prefix}results/default/${job.id}.json`, {
      maxBytes: 1e6,
    });
    expect(await inspect.getTags(BUCKET, key)).toEqual([]);
    a.child.kill('SIGKILL');
    expect(await a.exited).toBe('SIGKILL');

    const b = worker(env(s3.endpoint));
    const { state, job: done } = await waitForJob(queue, job.id, 90_000);
    expect(state).toBe('completed');
    const after = await inspect.getObjectBytes(BUCKET, `${prefix}results/default/${job.id}.json`, {
      maxBytes: 1e6,
    });
    expect(Buffer.from(after.bytes).equals(Buffer.from(written.bytes))).toBe(true);
    expect(after.etag).toBe(written.etag);
    const doc = JSON.parse(Buffer.from(after.bytes).toString()) as typeof done.returnvalue;
    expect(done.returnvalue).toEqual(doc);
    expect(await inspect.getTags(BUCKET, key)).toEqual(labelqTags(doc, config.tags.minConfidence));
    await b.waitFor(/reusing it/, 10_000);
  });

  it('SIGTERM: finishes the in-flight job, then exits 0', async () => {
    const p = await proxy();
    const { config, queue, env } = setup(p.endpoint, { SHUTDOWN_TIMEOUT_MS: '30000' });
    const key = `${prefix}sigterm/coffee.jpg`;
    await inspect.putObject(BUCKET, key, readPhoto('coffee'));
    const w = worker(env());
    await w.waitFor(/worker started/);
    // Freeze the image download so the job is surely in flight when the signal arrives.
    const download = p.holdWhen(/^GET [^ ?]*sigterm\/coffee\.jpg[? ]/m);
    const job = s3Job(BUCKET, key, MODELS);
    await enqueue(queue, config, [job]);
    await download;
    await waitForActive(queue, job.id);
    w.child.kill('SIGTERM');
    await w.waitFor(/shutting down/);
    p.release();
    expect(await w.exited).toBe(0);
    const { state, job: done } = await waitForJob(queue, job.id, 5000);
    expect(state).toBe('completed');
    expect(done.returnvalue.moderation?.decision).toBe('allow');
    expect(await inspect.getJson(BUCKET, `${prefix}results/default/${job.id}.json`)).toEqual(
      done.returnvalue,
    );
  });

  it('SIGTERM with a job hung past SHUTDOWN_TIMEOUT_MS: exits 0 at the deadline, another worker completes it', async () => {
    const p = await proxy();
    // A request timeout far beyond the deadline: only the deadline can end this shutdown early.
    const { config, queue, env } = setup(p.endpoint, {
      SHUTDOWN_TIMEOUT_MS: '1000',
      S3_REQUEST_TIMEOUT_MS: '120000',
    });
    const key = `${prefix}deadline/coffee.jpg`;
    await inspect.putObject(BUCKET, key, readPhoto('coffee'));
    const a = worker(env());
    await a.waitFor(/worker started/);
    // The image GET never reaches S3: the job hangs until the process gives it up.
    const download = p.holdWhen(/^GET [^ ?]*deadline\/coffee\.jpg[? ]/m);
    const job = s3Job(BUCKET, key, MODELS);
    await enqueue(queue, config, [job]);
    await download;
    await waitForActive(queue, job.id);
    const signalledAt = Date.now();
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    // Not a speed check: a shutdown that waits for the job would take the 120 s request timeout.
    expect(Date.now() - signalledAt).toBeLessThan(1000 + 20_000);
    expect(a.output()).toMatch(/shutdown timeout: abandoning in-flight jobs/);
    expect(a.output()).toMatch(/"drained":false/);
    // Abandoned, not failed: no failure document, and the job is still active (its lock expires).
    expect(await inspect.getJson(BUCKET, `${prefix}results/default/${job.id}.json`)).toBeUndefined();
    expect(await (await queue.getJob(job.id))?.getState()).toBe('active');

    worker(env(s3.endpoint));
    const { state, job: done } = await waitForJob(queue, job.id, 90_000);
    expect(state, done.failedReason).toBe('completed');
    expect(done.returnvalue.moderation?.decision).toBe('allow');
    expect(await inspect.getJson(BUCKET, `${prefix}results/default/${job.id}.json`)).toEqual(
      done.returnvalue,
    );
  });

  it('refuses to start against Redis with an eviction policy', async () => {
    const evicting = await startRedisServer({ args: ['--maxmemory-policy', 'allkeys-lru'] });
    cleanups.push(() => evicting.stop());
    const { env } = setup(s3.endpoint);
    const w = worker({ ...env(), REDIS_URL: evicting.url });
    expect(await w.exited).toBe(1);
    expect(w.output()).toMatch(/redis_eviction_policy/);
    expect(w.output()).toMatch(/allkeys-lru/);
  });

  it('refuses to start without Redis, or with a model file that does not match its manifest', async () => {
    const { env } = setup(s3.endpoint);
    const noRedis = worker({ ...env(), REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    expect(await noRedis.exited).toBe(1);
    expect(noRedis.output()).toMatch(/queue_unavailable/);

    const dir = await mkdtemp(join(tmpdir(), 'labelq-models-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await copyFile(join(modelsDir, 'nsfw-mobilenet-v2.json'), join(dir, 'nsfw-mobilenet-v2.json'));
    const onnx = await readFile(join(modelsDir, 'nsfw-mobilenet-v2.onnx'));
    onnx.writeUInt8(onnx.readUInt8(onnx.length - 1) ^ 0xff, onnx.length - 1);
    await writeFile(join(dir, 'nsfw-mobilenet-v2.onnx'), onnx);
    const badModel = worker({ ...env(), MODELS_DIR: dir });
    expect(await badModel.exited).toBe(1);
    expect(badModel.output()).toMatch(/model_checksum_mismatch/);
  });
});
