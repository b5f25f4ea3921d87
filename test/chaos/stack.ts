// One labelq stack for the chaos scenarios (pnpm test:chaos): a private redis-server (optionally AOF, restartable
// on its port), s3rver behind our TCP fault proxy, the API in-process (startApi, real HTTP) and worker processes
// (services/worker/src/main.ts) pointed at the proxy. Faults come only from processes we start and the proxy, on
// loopback. `assertNothingLost` is every scenario's common check: each accepted job ended completed or
// failed-with-reason, in Redis and in exactly one result document, one job per id.
import { startApi, type ApiServer } from '@labelq/api';
import { loadConfig, type Config } from '@labelq/config';
import { decodeFailedReason, tryReadStoredDocument, type StoredJobPayload } from '@labelq/contracts';
import { startRedisServer, type RedisServerHandle } from '@labelq/dev-services';
import { createClassifyQueue } from '@labelq/queue';
import { createObjectStore, type ObjectStore } from '@labelq/storage';
import type { Queue } from 'bullmq';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { expect } from 'vitest';
import { readPhoto, type PhotoName } from '../fixtures/index.ts';
import { testEnv, uniqueName } from '../helpers/env.ts';
import { startLocalS3, type LocalS3 } from '../helpers/s3.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process.ts';

export const MODELS = ['nsfw-mobilenet-v2'];
const BUCKET = 'labelq-chaos';
const PHOTOS: PhotoName[] = ['astronaut', 'camera', 'chelsea', 'coffee', 'rocket'];

export interface StackOptions {
  /** Redis keeps an append-only file (fsync always) in a temp dir, so a kill -9 and restart loses nothing. */
  aof?: boolean;
  /**
   * API and workers reach Redis through a fault proxy too (`redisProxy`), so a scenario can cut or partition
   * them from Redis while the test's own checks still reach it directly.
   */
  redisProxy?: boolean;
  /** Extra environment for API and workers, e.g. `{ JOB_ATTEMPTS: '2' }`. */
  env?: Record<string, string>;
}

export interface Accepted {
  id: string;
  status: string;
  duplicate: boolean;
}

export interface ChaosStack {
  config: Config;
  /** The bucket holding sources, uploads and result documents. */
  bucket: string;
  redis: RedisServerHandle;
  s3: LocalS3;
  /** The fault proxy in front of s3rver: workers and the API talk to S3 through it. */
  s3Proxy: TcpProxy;
  /** With `redisProxy`: the fault proxy between Redis and the API and workers. */
  redisProxy: TcpProxy | undefined;
  api: ApiServer;
  queue: Queue<StoredJobPayload>;
  /** Direct (unproxied) S3 access for the test's own checks. */
  store: ObjectStore;
  /** The environment of a labelq process of this stack (S3 through the proxy). */
  env(extra?: Record<string, string>): Record<string, string>;
  /** Spawns a worker process and waits until it takes jobs. */
  worker(extra?: Record<string, string>): Promise<WorkerProcess>;
  /** Puts `n` source objects (the fixture photos, in turn) under a fresh prefix; returns their keys. */
  putSources(n: number): Promise<string[]>;
  /** POST /v1/jobs in one bulk request; returns the answers. */
  submitKeys(keys: readonly string[], extra?: Record<string, unknown>): Promise<Accepted[]>;
  /** Kills Redis with SIGKILL and starts it again on the same port (and AOF dir). */
  restartRedis(): Promise<void>;
  /** Waits until every id is completed or failed in Redis, up to `timeoutMs`. */
  waitSettled(ids: readonly string[], timeoutMs?: number): Promise<Map<string, 'completed' | 'failed'>>;
  /**
   * The common invariant: each accepted id has exactly one job, which ended completed or failed with a coded
   * reason; its result (or failure) document exists, is valid and says the same; the API answers the same.
   * Returns the states.
   */
  assertNothingLost(ids: readonly string[], timeoutMs?: number): Promise<Map<string, 'completed' | 'failed'>>;
  stop(): Promise<void>;
}

export async function startChaosStack(options: StackOptions = {}): Promise<ChaosStack> {
  const cleanups: (() => Promise<void>)[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'labelq-chaos-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const redisArgs = [
    '--maxmemory-policy',
    'noeviction',
    ...(options.aof ? ['--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always'] : []),
  ];
  let redis = await startRedisServer({ args: redisArgs });
  cleanups.push(() => redis.stop());
  const s3 = await startLocalS3([BUCKET]);
  cleanups.push(() => s3.stop());
  const s3Proxy = await startTcpProxy({ host: '127.0.0.1', port: s3.port });
  cleanups.push(() => s3Proxy.close());
  let redisProxy: TcpProxy | undefined;
  if (options.redisProxy) {
    // The port stays the same across restartRedis(), so the proxy keeps pointing at the live server.
    redisProxy = await startTcpProxy({ host: '127.0.0.1', port: redis.port });
    const proxy = redisProxy;
    cleanups.push(() => proxy.close());
  }
  const redisUrlForServices = (): string =>
    redisProxy === undefined ? redis.url : `redis://127.0.0.1:${new URL(redisProxy.endpoint).port}`;
  const run = uniqueName('chaos');
  const env = (extra: Record<string, string> = {}): Record<string, string> =>
    testEnv({
      redisUrl: redisUrlForServices(),
      s3Endpoint: s3Proxy.endpoint,
      bucket: BUCKET,
      queueName: run,
      prefix: run,
      extra: {
        AUTH_DISABLED: 'true',
        REDIS_PERSISTENCE: 'off',
        MODELS: MODELS.join(','),
        POOL_THREADS: '1',
        WORKER_CONCURRENCY: '3',
        WORKER_HTTP_PORT: '0',
        BATCH_RUNNERS: '0',
        LOCK_DURATION_MS: '3000',
        JOB_BACKOFF_MS: '200',
        LOG_LEVEL: 'info',
        API_HOST: '127.0.0.1',
        API_PORT: '0',
        ...options.env,
        ...extra,
      },
    });
  const config = loadConfig(env(), 2);
  const api = await startApi(config, pino({ level: process.env.TEST_LOG ?? 'silent' }), { models: MODELS });
  cleanups.push(() => api.close());
  const queue = createClassifyQueue(config, { url: redis.url });
  cleanups.push(async () => {
    await queue.close().catch(() => undefined);
  });
  const store = createObjectStore(
    loadConfig(testEnv({ s3Endpoint: s3.endpoint, bucket: BUCKET, prefix: run }), 2).s3,
    s3.client,
  );
  const workers: WorkerProcess[] = [];
  cleanups.push(async () => {
    for (const w of workers) await w.kill();
  });
  let batch = 0;

  const stack: ChaosStack = {
    config,
    bucket: BUCKET,
    get redis() {
      return redis;
    },
    s3,
    s3Proxy,
    redisProxy,
    api,
    queue,
    store,
    env,
    async worker(extra) {
      const w = spawnWorker(env(extra));
      workers.push(w);
      await w.waitFor(/worker started/, 90_000);
      return w;
    },
    async putSources(n) {
      const prefix = `${run}/src/${batch++}`;
      const keys = Array.from({ length: n }, (_, i) => `${prefix}/${i}.jpg`);
      for (const [i, key] of keys.entries()) {
        await store.putObject(BUCKET, key, readPhoto(PHOTOS[i % PHOTOS.length]!));
      }
      return keys;
    },
    async submitKeys(keys, extra = {}) {
      const res = await fetch(`${api.url}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(keys.map((key) => ({ key, ...extra }))),
      });
      expect(res.status).toBe(202);
      return ((await res.json()) as { jobs: Accepted[] }).jobs;
    },
    async restartRedis() {
      const port = redis.port;
      await redis.kill('SIGKILL');
      redis = await startRedisServer({ port, args: redisArgs });
    },
    async waitSettled(ids, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      const states = new Map<string, 'completed' | 'failed'>();
      while (states.size < ids.length) {
        for (const id of ids) {
          if (states.has(id)) continue;
          const job = await queue.getJob(id).catch(() => undefined);
          const state = job ? await job.getState().catch(() => 'unknown') : 'missing';
          if (state === 'completed' || state === 'failed') states.set(id, state);
        }
        if (states.size < ids.length) {
          if (Date.now() > deadline) {
            const open = ids.filter((id) => !states.has(id));
            throw new Error(`${open.length} jobs not finished after ${timeoutMs} ms, e.g. ${open[0]}`);
          }
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      return states;
    },
    async assertNothingLost(ids, timeoutMs) {
      expect(new Set(ids).size).toBe(ids.length);
      const states = await stack.waitSettled(ids, timeoutMs);
      for (const id of ids) {
        const job = (await queue.getJob(id))!;
        const state = states.get(id)!;
        const doc = tryReadStoredDocument(await store.getJson(BUCKET, store.resultKey('default', id)));
        if (state === 'failed') {
          const reason = decodeFailedReason(job.failedReason);
          expect(reason.code, `${id}: ${job.failedReason}`).not.toBe('internal');
          // The failure document is best effort (S3 may have been down as the job failed), never another status.
          if (doc !== undefined) expect(doc.status).toBe('failed');
        } else {
          expect(doc?.status, `${id}: its result document`).toBe('completed');
          expect(doc?.id).toBe(id);
        }
        const res = await fetch(`${api.url}/v1/images/${id}`);
        expect(res.status).toBe(200);
        expect(((await res.json()) as { status: string }).status).toBe(state);
      }
      return states;
    },
    async stop() {
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
    },
  };
  return stack;
}
