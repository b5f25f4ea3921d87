// The embedded stack behind `pnpm demo` (and the end-to-end tests): Redis (the configured one or a private
// redis-server), s3rver under .data/s3, the API in this process and a worker as a child process.
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { configuredModelNames, startApi, type ApiServer } from '@labelq/api';
import { loadConfig, type Config } from '@labelq/config';
import {
  resolveRedis,
  S3RVER_CREDENTIALS,
  startS3rver,
  type ResolvedRedis,
  type S3rverHandle,
} from '@labelq/dev-services';
import { spawnService, type ServiceProcess } from './worker-process.ts';

export interface StackOptions {
  /** Repository root. */
  root: string;
  /** Redis to use if it answers, else a private redis-server is started. Default `redis://127.0.0.1:6379`. */
  redisUrl?: string;
  /** Folder s3rver keeps its buckets in. Default `<root>/.data/s3`. */
  s3Dir?: string;
  /** Bucket for uploads and results. Default `labelq-demo`. */
  bucket?: string;
  /** Models folder. Default `<root>/models`. */
  modelsDir?: string;
  /** Log level of the API and the worker. Default `warn`. */
  logLevel?: string;
  /** Extra environment for the services (e.g. `{ JOB_ATTEMPTS: '1' }`). Default none. */
  env?: Record<string, string>;
  /** Worker output is appended here. Default `<root>/.data/demo-worker.log`. */
  workerLogFile?: string;
}

export interface Stack {
  config: Config;
  /** The environment both services were configured from. */
  env: Record<string, string>;
  apiUrl: string;
  api: ApiServer;
  worker: ServiceProcess;
  s3: S3rverHandle;
  redis: ResolvedRedis;
  /** Model names the API accepts (all by default). */
  models: readonly string[];
  /** Stops the worker (graceful), the API, removes this run's queue, stops s3rver and a private Redis. */
  stop(): Promise<void>;
}

/** Thrown when the models have not been built: the message says what to run. */
export class ModelsMissingError extends Error {}

/** Starts the embedded stack; everything started is stopped again if a later step fails. */
export async function startStack(options: StackOptions, logger: Logger): Promise<Stack> {
  const root = resolve(options.root);
  const modelsDir = options.modelsDir ?? join(root, 'models');
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.splice(0).reverse())
      await fn().catch((err: unknown) => logger.warn({ err }, 'cleanup'));
  };
  try {
    const redis = await resolveRedis(options.redisUrl ?? 'redis://127.0.0.1:6379');
    cleanups.push(() => redis.stop());
    const bucket = options.bucket ?? 'labelq-demo';
    const s3 = await startS3rver({ dir: options.s3Dir ?? join(root, '.data', 's3'), buckets: [bucket] });
    cleanups.push(() => s3.stop());

    // A unique queue per run, so the demo never collides with other users of the same Redis.
    const run = `${new Date().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`;
    const env: Record<string, string> = {
      LOG_LEVEL: options.logLevel ?? 'warn',
      REDIS_URL: redis.url,
      QUEUE_NAME: `labelq-demo-${run}`,
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      S3_BUCKET: bucket,
      S3_UPLOADS_PREFIX: `demo/${run}/uploads/`,
      S3_RESULTS_PREFIX: `demo/${run}/results/`,
      // s3rver stores aws-chunked framing verbatim: checksums only when required.
      S3_CHECKSUMS: 'WHEN_REQUIRED',
      MODELS_DIR: modelsDir,
      API_HOST: '127.0.0.1',
      API_PORT: '0',
      ...options.env,
    };
    const config = loadConfig(env);
    let models: string[];
    try {
      models = await configuredModelNames(config);
    } catch (err) {
      throw new ModelsMissingError(
        `No models in ${modelsDir}: run \`pnpm models\` first (${err instanceof Error ? err.message : String(err)})`,
      );
    }

    cleanups.push(() => removeQueue(config));
    const workerLog = options.workerLogFile ?? join(root, '.data', 'demo-worker.log');
    await mkdir(join(workerLog, '..'), { recursive: true });
    const worker = spawnService('worker', { root, env, logFile: workerLog });
    cleanups.push(() => worker.stop());
    const api = await startApi(config, logger, { models });
    cleanups.push(() => api.close());

    return {
      config,
      env,
      apiUrl: api.url,
      api,
      worker,
      s3,
      redis,
      models,
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Deletes this run's queue keys (only this queue's: the Redis may be shared). */
async function removeQueue(config: Config): Promise<void> {
  const connection = new Redis(config.redis.url, { maxRetriesPerRequest: 1 });
  const queue = new Queue(config.queue.name, { connection, prefix: config.queue.prefix });
  try {
    await queue.obliterate({ force: true });
  } finally {
    await queue.close();
    connection.disconnect();
  }
}
