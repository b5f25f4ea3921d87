// Operators' view of the queue over real HTTP against the shared Redis (unique queue and key prefix), s3rver and
// the real models: the depth endpoint counts prioritized, delayed and active jobs (and the API's /metrics
// shows it); queue-wide routes need queue-wide scopes; pause stops two workers at once; retry by failure code,
// clean and drain do what they say.
import { KeyStore, OpenJobs } from '@labelq/access';
import { buildApp, createApiStorage } from '@labelq/api';
import { loadConfig, type Config } from '@labelq/config';
import type { QueueDepth, Scope, StoredJobPayload } from '@labelq/contracts';
import { INDEXER_GROUP, outcomeKeys } from '@labelq/index';
import { createInferencePool, type InferencePool } from '@labelq/inference';
import { classifyJob } from '@labelq/queue';
import { createObjectStore, type ObjectStore } from '@labelq/storage';
import { createWorkerRuntime, type WorkerRuntime } from '@labelq/worker';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelsDir, readPhoto } from '../fixtures/index.ts';
import { testEnv, testRedisUrl, uniqueName } from '../helpers/env.ts';
import { s3Job, waitForJob } from '../helpers/jobs.ts';
import { modelInfos } from '../helpers/models.ts';
import { sample, scrape } from '../helpers/prometheus.ts';
import { runScript } from '../helpers/run-script.ts';
import { startLocalS3, type LocalS3 } from '../helpers/s3.ts';

const BUCKET = 'labelq-queue-ops';
const MODELS = ['nsfw-mobilenet-v2'];

let s3: LocalS3;
let redis: Redis;
let keys: KeyStore;
let pool: InferencePool;
let inspect: ObjectStore;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  s3 = await startLocalS3([BUCKET]);
  redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
  pool = await createInferencePool({ modelsDir, models: MODELS, threads: 1 });
});

afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  await pool.close();
  redis.disconnect();
  await s3.stop();
});

/** A fresh queue, key prefix and API on real HTTP. */
async function stack(extra: Record<string, string> = {}) {
  const run = uniqueName('qops');
  const config: Config = loadConfig(
    testEnv({
      redisUrl: testRedisUrl(),
      queueName: run,
      s3Endpoint: s3.endpoint,
      bucket: BUCKET,
      prefix: run,
      extra: { REDIS_KEY_PREFIX: run, JOB_BACKOFF_MS: '50', MODELS: MODELS.join(','), ...extra },
    }),
    2,
  );
  keys = new KeyStore(redis, { prefix: run });
  const queue = new Queue<StoredJobPayload>(config.queue.name, {
    connection: redis,
    prefix: config.queue.prefix,
  });
  const openJobs = new OpenJobs(redis, run);
  const app = await buildApp({
    config,
    logger: pino({ level: 'silent' }),
    queue,
    storage: createApiStorage(config),
    models: modelInfos(MODELS),
    keys,
    openJobs,
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  cleanup.push(async () => {
    await app.close();
    await queue.obliterate({ force: true });
    await queue.close();
    // The run's prefix, and the webhook and batch control queues the worker runtimes open beside it.
    const leftovers = [
      ...(await redis.keys(`${run}:*`)),
      ...(await redis.keys(`${config.queue.prefix}:${run}-*`)),
    ];
    if (leftovers.length > 0) await redis.del(...leftovers);
  });
  const key = async (scopes: Scope[], tenant = 'ops') => (await keys.create({ tenant, scopes })).key;
  const call = async (method: string, path: string, apiKey: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as Record<string, unknown> & { error?: { code: string } };
    return { status: res.status, body: json, code: json.error?.code };
  };
  return { config, queue, url, key, call, openJobs, run };
}

async function runtime(config: Config): Promise<WorkerRuntime> {
  const rt = await createWorkerRuntime(config, { logger: pino({ level: 'silent' }), pool });
  cleanup.push(() => rt.close());
  return rt;
}

describe('GET /v1/queue/depth', () => {
  it('counts prioritized, delayed and active jobs, overall and per purpose, and /metrics reports it', async () => {
    const { config, queue, key, call, url } = await stack();
    const job = (name: string, purpose: 'tagging' | 'moderation') => ({
      ...s3Job(BUCKET, `depth/${name}.jpg`, MODELS),
      purpose,
    });
    const add = async (j: ReturnType<typeof job>, extraOpts = {}) => {
      const { name, data, opts } = classifyJob(config, j);
      await queue.add(name, data, { ...opts, ...extraOpts });
    };
    for (const n of ['t1', 't2', 't3']) await add(job(n, 'tagging'));
    await add(job('m1', 'moderation'));
    await add(job('m2', 'moderation'));
    // A retry waiting out its backoff.
    await add(job('t4', 'tagging'), { delay: 600_000 });
    // One moderation job taken by a worker (moderation runs first: priority 1).
    const taker = new Worker(config.queue.name, null, {
      connection: { url: testRedisUrl(), maxRetriesPerRequest: null },
      prefix: config.queue.prefix,
    });
    cleanup.push(() => taker.close());
    const active = await taker.getNextJob('test-token');
    expect((active?.data as StoredJobPayload | undefined)?.purpose).toBe('moderation');
    // The trap bullmq#2017 describes: every labelq job has a priority, so the wait list stays empty.
    expect(await redis.llen(`${config.queue.prefix}:${config.queue.name}:wait`)).toBe(0);

    const metricsKey = await key(['metrics']);
    const res = await call('GET', '/v1/queue/depth', metricsKey);
    expect(res.status).toBe(200);
    const depth = res.body as unknown as QueueDepth;
    expect(depth).toMatchObject({
      depth: 6,
      states: { waiting: 0, prioritized: 4, delayed: 1, active: 1 },
      byPurpose: {
        moderation: { depth: 2, waiting: 1, delayed: 0, active: 1 },
        tagging: { depth: 4, waiting: 3, delayed: 1, active: 0 },
      },
      paused: false,
      approximate: false,
    });
    expect(depth.byPurpose.tagging.oldestWaitingAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(depth.byPurpose.tagging.oldestWaitingAgeSeconds).toBeLessThan(60);

    const m = await scrape(`${url}/metrics`);
    expect(sample(m, 'labelq_queue_up', {})).toBe(1);
    expect(sample(m, 'labelq_queue_depth_jobs', {})).toBe(6);
    expect(sample(m, 'labelq_queue_jobs', { state: 'waiting', purpose: 'tagging' })).toBe(3);
    expect(sample(m, 'labelq_queue_jobs', { state: 'delayed', purpose: 'tagging' })).toBe(1);
    expect(sample(m, 'labelq_queue_jobs', { state: 'active', purpose: 'moderation' })).toBe(1);
    expect(
      sample(m, 'labelq_http_request_duration_seconds_count', {
        method: 'GET',
        route: '/v1/queue/depth',
        status_code: '200',
      }),
    ).toBe(1);
    expect(m.raw).not.toContain(metricsKey);
  });

  it.each<[string, Scope[], string, string, number]>([
    ['a read key cannot see queue-wide figures', ['read'], 'GET', '/v1/queue/depth', 403],
    ["a tenant's admin cannot pause everyone's queue", ['admin'], 'POST', '/v1/queue/pause', 403],
    ['a metrics key cannot operate the queue', ['metrics'], 'POST', '/v1/queue/drain', 403],
    ['an operator key can', ['operator'], 'POST', '/v1/queue/resume', 200],
  ])('%s', async (_name, scopes, method, path, status) => {
    const { key, call } = await stack();
    const res = await call(method, path, await key(scopes), method === 'POST' ? {} : undefined);
    expect(res.status).toBe(status);
    if (status === 403) expect(res.code).toBe('insufficient_scope');
  });

  it('reports the results index backlog: outcomes not yet read or not yet committed by an indexer', async () => {
    // An installation with an index whose indexer is not running (INDEXER_ENABLED=false): workers still record
    // each final document in the outcome stream, and nothing takes them out.
    const { config, queue, url } = await stack({
      DATABASE_URL: 'postgresql://127.0.0.1:5432/test',
      INDEXER_ENABLED: 'false',
    });
    inspect = createObjectStore(config.s3, s3.client);
    const photos = ['astronaut', 'coffee'] as const;
    for (const n of photos) await inspect.putObject(BUCKET, `index/${n}.jpg`, readPhoto(n));
    await runtime(config);
    const jobs = photos.map((n) => s3Job(BUCKET, `index/${n}.jpg`, MODELS));
    await queue.addBulk(jobs.map((j) => classifyJob(config, j)));
    for (const j of jobs) expect((await waitForJob(queue, j.id)).state).toBe('completed');
    const backlog = async () => sample(await scrape(`${url}/metrics`), 'labelq_index_backlog_jobs', {});
    // No indexer has made its consumer group yet: everything in the stream.
    expect(await backlog()).toBe(2);
    expect(sample(await scrape(`${url}/metrics`), 'labelq_index_overflowed_jobs', {})).toBe(0);

    // An indexer reads one entry (pending until its Postgres commit), then acknowledges it.
    const { stream } = outcomeKeys(config.redis.keyPrefix);
    await redis.xgroup('CREATE', stream, INDEXER_GROUP, '0');
    const read = (await redis.xreadgroup(
      'GROUP',
      INDEXER_GROUP,
      'test',
      'COUNT',
      1,
      'STREAMS',
      stream,
      '>',
    )) as [string, [string, string[]][]][] | null;
    const entryId = read?.[0]?.[1][0]?.[0];
    expect(entryId).toBeDefined();
    expect(await backlog()).toBe(2);
    await redis.xack(stream, INDEXER_GROUP, entryId!);
    expect(await backlog()).toBe(1);
  });

  it("a tenant's admin cannot grant queue-wide scopes; an operator can", async () => {
    const { key, call } = await stack();
    const byAdmin = await call('POST', '/v1/keys', await key(['admin']), { scopes: ['metrics'] });
    expect(byAdmin.status).toBe(403);
    expect(byAdmin.code).toBe('insufficient_scope');
    const byOperator = await call('POST', '/v1/keys', await key(['admin', 'operator']), {
      scopes: ['metrics'],
    });
    expect(byOperator.status).toBe(201);
  });
});

describe('queue operations (scope operator)', () => {
  it('pause stops both workers from taking jobs until resume', async () => {
    const { config, queue, key, call } = await stack({ WORKER_CONCURRENCY: '2' });
    const op = await key(['operator', 'metrics']);
    inspect = createObjectStore(config.s3, s3.client);
    const jobs = ['astronaut', 'chelsea', 'coffee', 'rocket'] as const;
    for (const n of jobs) await inspect.putObject(BUCKET, `pause/${n}.jpg`, readPhoto(n));
    const [a, b] = [await runtime(config), await runtime(config)];

    expect((await call('POST', '/v1/queue/pause', op, {})).body).toEqual({
      operation: 'pause',
      count: 0,
      paused: true,
    });
    const payloads = jobs.map((n) => s3Job(BUCKET, `pause/${n}.jpg`, MODELS));
    await queue.addBulk(payloads.map((p) => classifyJob(config, p)));
    // Both workers poll and block on the queue: give them time to (wrongly) take something.
    await new Promise((r) => setTimeout(r, 1500));
    const paused = (await call('GET', '/v1/queue/depth', op)).body as unknown as QueueDepth;
    expect(paused).toMatchObject({ depth: 4, paused: true, states: { prioritized: 4, active: 0 } });
    for (const rt of [a, b]) {
      const text = await rt.metrics.registry.getSingleMetricAsString('labelq_worker_jobs_total');
      expect(text).not.toMatch(/outcome=/);
    }

    expect((await call('POST', '/v1/queue/resume', op, {})).body).toMatchObject({ paused: false });
    for (const p of payloads) expect((await waitForJob(queue, p.id)).state).toBe('completed');
    // Both took part once resumed (each runs 2 at a time, 4 jobs arrive together).
    const done = await Promise.all(
      [a, b].map(
        async (rt) =>
          (await rt.metrics.jobs.get()).values.find((v) => v.labels.outcome === 'completed')?.value ?? 0,
      ),
    );
    expect(done.reduce((x, y) => x + y, 0)).toBe(4);
  });

  it('retries failed jobs by failure code, cleans old failed jobs, drains waiting ones and releases their reservations', async () => {
    const { config, queue, key, call, openJobs } = await stack();
    const op = await key(['operator', 'metrics']);
    inspect = createObjectStore(config.s3, s3.client);
    await inspect.putObject(BUCKET, 'retry/garbage.jpg', Buffer.from('not an image at all'));
    await runtime(config);
    const missing = s3Job(BUCKET, 'retry/later.jpg', MODELS);
    const garbage = s3Job(BUCKET, 'retry/garbage.jpg', MODELS);
    await queue.addBulk([missing, garbage].map((p) => classifyJob(config, p)));
    expect((await waitForJob(queue, missing.id)).state).toBe('failed');
    const garbageFailed = await waitForJob(queue, garbage.id);
    expect(garbageFailed.state).toBe('failed');
    expect(garbageFailed.job.failedReason).not.toContain('object_not_found');

    // The operator uploads the missing object and retries only what failed for that reason.
    await inspect.putObject(BUCKET, 'retry/later.jpg', readPhoto('coffee'));
    const bad = await call('POST', '/v1/queue/retry', op, { code: 'Not A Code' });
    expect(bad.status).toBe(400);
    const retried = await call('POST', '/v1/queue/retry', op, { code: 'object_not_found' });
    expect(retried.body).toEqual({ operation: 'retry', count: 1, paused: false });
    expect((await waitForJob(queue, missing.id)).state).toBe('completed');
    expect(await (await queue.getJob(garbage.id))?.getState()).toBe('failed');

    const cleaned = await call('POST', '/v1/queue/clean', op, { state: 'failed', olderThanSeconds: 0 });
    expect(cleaned.body).toMatchObject({ operation: 'clean', count: 1 });
    expect(await queue.getJob(garbage.id)).toBeUndefined();
    expect(
      (await call('POST', '/v1/queue/clean', op, { state: 'completed', olderThanSeconds: 3600 })).body,
    ).toMatchObject({
      count: 0,
    });

    await call('POST', '/v1/queue/pause', op, {});
    const queued = ['a', 'b', 'c'].map((n) => s3Job(BUCKET, `drain/${n}.jpg`, MODELS, 'acme'));
    expect(
      await openJobs.reserve(
        'acme',
        queued.map((q) => q.id),
        100,
      ),
    ).toBe(true);
    await queue.addBulk(queued.map((p) => classifyJob(config, p)));
    const drained = await call('POST', '/v1/queue/drain', op, {});
    expect(drained.body).toEqual({ operation: 'drain', count: 3, paused: true });
    expect((await call('GET', '/v1/queue/depth', op)).body).toMatchObject({ depth: 0 });
    expect(await openJobs.count('acme')).toBe(0);
  });
});

describe('labelq queue (CLI, straight to Redis)', () => {
  it('pauses, reports the depth, resumes, and refuses bad flags with exit 2', async () => {
    const { config, queue, run } = await stack();
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...testEnv({
        redisUrl: testRedisUrl(),
        queueName: config.queue.name,
        s3Endpoint: s3.endpoint,
        bucket: BUCKET,
      }),
      REDIS_KEY_PREFIX: run,
    };
    const cli = (...args: string[]) => runScript('services/cli/src/main.ts', ['queue', ...args], env);
    const paused = await cli('pause', '--json');
    expect(paused.code, paused.stderr).toBe(0);
    expect(JSON.parse(paused.stdout)).toEqual({ operation: 'pause', count: 0, paused: true });
    expect(await queue.isPaused()).toBe(true);
    await queue.addBulk(['x', 'y'].map((n) => classifyJob(config, s3Job(BUCKET, `cli/${n}.jpg`, MODELS))));
    const depth = await cli('depth');
    expect(depth.stdout).toMatch(/^depth 2 \(paused\): waiting 0, prioritized 2, delayed 0, active 0$/m);
    expect(depth.stdout).toMatch(/^ {2}tagging: 2 \(waiting 2, delayed 0, active 0;/m);
    expect((await cli('resume')).stdout).toBe('resume: 0 job(s); queue running\n');
    const bad = await cli('clean', '--state', 'waiting', '--older-than', '10');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--state/);
  });
});
