import { PutObjectCommand } from '@aws-sdk/client-s3';
import { startApi, type ApiServer } from '@labelq/api';
import { BatchStore } from '@labelq/batch';
import { loadConfig, type Config } from '@labelq/config';
import type { Batch } from '@labelq/contracts';
import { createObjectStore, type ObjectStore } from '@labelq/storage';
import { createWorkerRuntime, type WorkerRuntime } from '@labelq/worker';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import sharp from 'sharp';
import { testEnv, testRedisUrl, uniqueName } from './env.ts';
import type { LocalS3 } from './s3.ts';

/** The model the batch tests run (the fastest real one). */
export const BATCH_TEST_MODELS = ['nsfw-mobilenet-v2'];

export interface BatchStackOptions {
  s3: LocalS3;
  /** Results bucket. */
  bucket: string;
  /** Source buckets allowed besides it. */
  sources: string[];
  extra?: Record<string, string>;
}

/** The environment of a batch test: unique queue, Redis key prefix, results and reports prefixes. */
export function batchTestEnv(o: BatchStackOptions, run = uniqueName('bt')): Record<string, string> {
  return testEnv({
    redisUrl: testRedisUrl(),
    s3Endpoint: o.s3.endpoint,
    bucket: o.bucket,
    queueName: run,
    extra: {
      LOG_LEVEL: 'silent',
      MODELS: BATCH_TEST_MODELS.join(','),
      POOL_THREADS: '1',
      REDIS_KEY_PREFIX: run,
      S3_RESULTS_PREFIX: `${run}/results/`,
      S3_UPLOADS_PREFIX: `${run}/uploads/`,
      BATCH_REPORTS_PREFIX: `${run}/reports/`,
      S3_ALLOWED_BUCKETS: [o.bucket, ...o.sources].join(','),
      S3_WRITE_TAGS: 'false',
      AUTH_DISABLED: 'true',
      JOB_BACKOFF_MS: '100',
      ...o.extra,
    },
  });
}

export interface BatchStack {
  config: Config;
  env: Record<string, string>;
  api: ApiServer;
  results: ObjectStore;
  redis: Redis;
  store: BatchStore;
  /** JSON request against the API. */
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Polls the batch until `done(batch)` (default: an end status) or the timeout. */
  waitFor(id: string, done?: (b: Batch) => boolean, timeoutMs?: number): Promise<Batch>;
  startWorker(extra?: Record<string, string>): Promise<WorkerRuntime>;
  stop(): Promise<void>;
}

export async function startBatchStack(o: BatchStackOptions): Promise<BatchStack> {
  const env = batchTestEnv(o);
  const config = loadConfig(env, 2);
  const api = await startApi(config, pino({ level: 'silent' }), { host: '127.0.0.1', port: 0 });
  const results = createObjectStore(config.s3, o.s3.client);
  const redis = new Redis(config.redis.url);
  const store = new BatchStore(redis, config.redis.keyPrefix);
  const workers: WorkerRuntime[] = [];
  const call = async <T>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${api.url}${path}`, {
      method,
      ...(body !== undefined
        ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
        : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // export bodies are JSONL or CSV
    }
    return { status: res.status, body: parsed as T };
  };
  const ended = (b: Batch): boolean => ['completed', 'failed', 'cancelled'].includes(b.status);
  return {
    config,
    env,
    api,
    results,
    redis,
    store,
    call,
    async waitFor(id, done = ended, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { body } = await call<Batch>('GET', `/v1/batches/${id}`);
        if (done(body)) return body;
        if (Date.now() > deadline) throw new Error(`batch ${id} not done: ${JSON.stringify(body)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async startWorker(extra = {}) {
      const w = await createWorkerRuntime(loadConfig({ ...env, ...extra }, 2), {
        logger: pino({ level: 'silent' }),
      });
      workers.push(w);
      return w;
    },
    async stop() {
      for (const w of workers.splice(0)) await w.close();
      await api.close();
      const q = new Queue(config.queue.name, { connection: redis, prefix: config.queue.prefix });
      const c = new Queue(`${config.queue.name}-batches`, { connection: redis, prefix: config.queue.prefix });
      await q.obliterate({ force: true }).catch(() => undefined);
      await c.obliterate({ force: true }).catch(() => undefined);
      await q.close();
      await c.close();
      const keys = await redis.keys(`${config.redis.keyPrefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    },
  };
}

/** A tiny distinct PNG (8x8, one colour from `i`). */
export async function tinyPng(i: number): Promise<Buffer> {
  return sharp({
    create: {
      width: 8,
      height: 8,
      channels: 3,
      background: { r: i % 256, g: (i * 7) % 256, b: (i * 13) % 256 },
    },
  })
    .png()
    .toBuffer();
}

/** Puts `count` tiny PNGs at `<prefix><i>.png`, `concurrency` at a time. */
export async function putTinyImages(
  s3: LocalS3,
  bucket: string,
  prefix: string,
  count: number,
  concurrency = 16,
): Promise<string[]> {
  const keys = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(6, '0')}.png`);
  let next = 0;
  const png = await tinyPng(1);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < keys.length) {
        const i = next++;
        const body = i < 256 ? await tinyPng(i) : png;
        await s3.client.send(
          new PutObjectCommand({ Bucket: bucket, Key: keys[i], Body: body, ContentType: 'image/png' }),
        );
      }
    }),
  );
  return keys;
}
