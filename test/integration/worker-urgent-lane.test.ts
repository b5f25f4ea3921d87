// Job slots held for moderation (WORKER_URGENT_CONCURRENCY, services/worker/src/urgent-lane.ts): with the only
// regular slot (WORKER_CONCURRENCY=1) held by a tagging job and more tagging jobs waiting, a moderation job still
// starts and completes, woken by the API's hint or, without one, by the lane's own look at the queue; the lane
// never takes a tagging job; close() waits for the lane's job. Real Redis, s3rver and the real model and pool (one
// bulk thread, one urgent thread). The tagging images are held before the pool until the test lets them go, so
// "the regular slot is busy" is a state the test controls rather than a race against a job's duration.
import type { StoredJobPayload } from '@labelq/contracts';
import { resolveRedis, type ResolvedRedis } from '@labelq/dev-services';
import { createInferencePool, type InferencePool } from '@labelq/inference';
import { createWorkerConnection, hintUrgentJobs, urgentHintsKey } from '@labelq/queue';
import { createObjectStore } from '@labelq/storage';
import { createWorkerRuntime, handBack, type WorkerRuntime } from '@labelq/worker';
import { Worker, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { modelsDir, readPhoto } from '../fixtures/index.ts';
import { testConfig, uniqueName } from '../helpers/env.ts';
import { enqueue, s3Job, testQueue, waitForActive, waitForJob } from '../helpers/jobs.ts';
import { startLocalS3, type LocalS3 } from '../helpers/s3.ts';
import { startTcpProxy } from '../helpers/tcp-proxy.ts';

const MODELS = ['nsfw-mobilenet-v2'];
const BUCKET = 'urgent-lane-it';

/** A gate: `wait()` resolves once `open()` was called. */
function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** The real pool; tagging images wait for `tagging.open()` before they reach it, urgent ones for `urgent.open()`. */
function holdImages(pool: InferencePool, holdUrgent = false) {
  const tagging = gate();
  const urgent = gate();
  if (!holdUrgent) urgent.open();
  const held: InferencePool = {
    manifests: pool.manifests,
    threads: pool.threads,
    urgentThreads: pool.urgentThreads,
    get pending() {
      return pool.pending;
    },
    async classify(bytes, options) {
      await (options?.urgent === true ? urgent : tagging).wait;
      return pool.classify(bytes, options);
    },
    close: (options) => pool.close(options),
  };
  return { pool: held, tagging, urgent };
}

describe('urgent lane (moderation job slots)', () => {
  let redis: ResolvedRedis;
  let s3: LocalS3;
  let pool: InferencePool;
  const prefix = uniqueName('lane');
  const open: { runtime?: WorkerRuntime; queue?: Queue<StoredJobPayload>; release?: () => void }[] = [];

  beforeAll(async () => {
    redis = await resolveRedis(process.env.REDIS_URL);
    s3 = await startLocalS3([BUCKET]);
    pool = await createInferencePool({ modelsDir, models: MODELS, threads: 1, urgentThreads: 1 });
    const store = createObjectStore(testConfig({ s3Endpoint: s3.endpoint, bucket: BUCKET }).s3, s3.client);
    for (const name of ['astronaut', 'camera', 'chelsea', 'coffee'] as const) {
      await store.putObject(BUCKET, `${prefix}/${name}.jpg`, readPhoto(name));
    }
  });
  afterEach(async () => {
    for (const o of open.splice(0)) {
      o.release?.();
      await o.runtime?.close();
      if (o.queue) {
        await o.queue.obliterate({ force: true });
        await o.queue.close();
      }
    }
  });
  afterAll(async () => {
    await pool?.close();
    await s3?.stop();
    await redis?.stop();
  });

  /** A worker with one regular slot and one urgent slot, its tagging images held; three tagging jobs queued. */
  async function busyWorker(holdUrgent = false) {
    const config = testConfig({
      redisUrl: redis.url,
      s3Endpoint: s3.endpoint,
      bucket: BUCKET,
      queueName: uniqueName('lane'),
      extra: {
        WORKER_CONCURRENCY: '1',
        WORKER_URGENT_CONCURRENCY: '1',
        S3_RESULTS_PREFIX: `${uniqueName(prefix)}/results/`,
      },
    });
    const held = holdImages(pool, holdUrgent);
    const runtime = await createWorkerRuntime(config, {
      logger: pino({ level: process.env.TEST_LOG ?? 'silent' }),
      pool: held.pool,
    });
    const queue = testQueue(config);
    open.push({ runtime, queue, release: () => (held.tagging.open(), held.urgent.open()) });
    const tagging = ['camera', 'chelsea', 'coffee'].map((n) => s3Job(BUCKET, `${prefix}/${n}.jpg`, MODELS));
    await enqueue(queue, config, tagging);
    await waitForActive(queue, tagging[0]!.id);
    const moderation = {
      ...s3Job(BUCKET, `${prefix}/astronaut.jpg`, MODELS),
      purpose: 'moderation' as const,
    };
    return { config, runtime, queue, held, tagging, moderation };
  }

  async function states(queue: Queue<StoredJobPayload>, jobs: readonly { id: string }[]): Promise<string[]> {
    return Promise.all(jobs.map(async ({ id }) => (await queue.getJob(id))!.getState()));
  }

  it.each([
    ['woken by the hint the API leaves', true],
    ['without a hint, by its own look every second', false],
  ])('a moderation job runs and completes while the only regular slot is busy: %s', async (_how, hinted) => {
    const { config, queue, held, tagging, moderation } = await busyWorker();
    const redis = (await queue.client) as unknown as Redis;
    await enqueue(queue, config, [moderation]);
    if (hinted) await hintUrgentJobs(redis, urgentHintsKey(queue), 1);

    const done = await waitForJob(queue, moderation.id);
    expect(done.state).toBe('completed');
    expect(done.job.returnvalue).toMatchObject({ id: moderation.id, moderation: { decision: 'allow' } });
    // The lane took the hint (if any); polled, since its next look may be just starting.
    await expect.poll(() => redis.llen(urgentHintsKey(queue))).toBe(0);
    // The regular slot still holds the first tagging job; the lane took none of the waiting ones.
    expect(await states(queue, tagging)).toEqual(['active', 'prioritized', 'prioritized']);

    held.tagging.open();
    for (const t of tagging) expect((await waitForJob(queue, t.id)).state).toBe('completed');
  });

  it('close() waits for the job running in the lane and takes no new one', async () => {
    const { config, runtime, queue, held, tagging, moderation } = await busyWorker(true);
    await enqueue(queue, config, [moderation]);
    await hintUrgentJobs((await queue.client) as unknown as Redis, urgentHintsKey(queue), 1);
    await waitForActive(queue, moderation.id);

    let closed = false;
    const closing = runtime.close().finally(() => (closed = true));
    held.tagging.open();
    expect((await waitForJob(queue, tagging[0]!.id)).state).toBe('completed');
    // The regular slot's job is done, the lane's is still held: close() is still waiting for it.
    expect(closed).toBe(false);
    held.urgent.open();
    expect(await closing).toBe(true);
    expect(await states(queue, [moderation, ...tagging])).toEqual([
      'completed',
      'completed',
      'prioritized',
      'prioritized',
    ]);
  });

  it('a forced close during a Redis partition returns, the lane included', async () => {
    // Redis behind a proxy that goes silent: the lane's look and fetch on the shared connection (and BullMQ's
    // own commands) then wait forever, since worker connections retry without end (maxRetriesPerRequest: null).
    const target = new URL(redis.url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port) });
    try {
      const config = testConfig({
        redisUrl: `redis://127.0.0.1:${new URL(proxy.endpoint).port}`,
        s3Endpoint: s3.endpoint,
        bucket: BUCKET,
        queueName: uniqueName('lane'),
        extra: { WORKER_CONCURRENCY: '1', WORKER_URGENT_CONCURRENCY: '1', SHUTDOWN_TIMEOUT_MS: '300' },
      });
      const runtime = await createWorkerRuntime(config, {
        logger: pino({ level: process.env.TEST_LOG ?? 'silent' }),
        pool,
      });
      // The test's own view of the queue goes straight to Redis.
      const queue = testQueue({ ...config, redis: { ...config.redis, url: redis.url } });
      open.push({ queue });
      // A hint wakes the lane at once: its look at the queue goes out into the partition.
      await hintUrgentJobs((await queue.client) as unknown as Redis, urgentHintsKey(queue), 1);
      proxy.blackhole();
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Not drained (the deadline passed), and back: the bounded waits, not Redis, end the close.
      expect(await runtime.close()).toBe(false);
    } finally {
      proxy.heal();
      await proxy.close();
    }
  }, 20_000);

  it('a tagging job the lane handed back waits unrun, then a main worker takes and completes it', async () => {
    const config = testConfig({
      redisUrl: redis.url,
      s3Endpoint: s3.endpoint,
      bucket: BUCKET,
      queueName: uniqueName('lane'),
    });
    const queue = testQueue(config);
    open.push({ queue });
    const job = s3Job(BUCKET, `${prefix}/camera.jpg`, MODELS);
    await enqueue(queue, config, [job]);
    const connection = createWorkerConnection(redis.url);
    // The lane's side: it fetched the job (as after losing the race) and hands it back.
    const lane = new Worker<StoredJobPayload>(config.queue.name, null, {
      connection,
      prefix: config.queue.prefix,
      autorun: false,
    });
    const fetched = (await lane.getNextJob('lane-token', { block: false }))!;
    expect(fetched.id).toBe(job.id);
    await handBack(fetched, 'lane-token', connection, lane);
    const back = (await queue.getJob(job.id))!;
    expect(await back.getState()).toBe('prioritized');
    expect(back.attemptsMade).toBe(0);
    // The marker BullMQ's fetch waits on is there (moveToWait alone adds none for a prioritized job).
    expect(await connection.zcard(queue.toKey('marker'))).toBe(1);
    const ran: string[] = [];
    const main = new Worker(config.queue.name, (j) => Promise.resolve(void ran.push(j.id!)), {
      connection: createWorkerConnection(redis.url),
      prefix: config.queue.prefix,
    });
    try {
      expect((await waitForJob(queue, job.id)).state).toBe('completed');
      expect(ran).toEqual([job.id]);
    } finally {
      await main.close();
      await lane.close();
      connection.disconnect();
    }
  });
});
