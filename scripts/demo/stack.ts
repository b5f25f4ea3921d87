// The embedded stack behind `pnpm demo`, `pnpm serve` (and the end-to-end tests): Redis (the configured one or a
// private redis-server), s3rver under .data/s3, an API key for the default tenant, the API in this process and a
// worker as a child process.
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { configuredModelNames, startApi, type ApiServer } from '@labelq/api';
import { loadConfig, type Config } from '@labelq/config';
import {
  freePort,
  pingRedis,
  resolveRedis,
  s3rverEnv,
  startS3rver,
  type ResolvedRedis,
  type S3rverHandle,
} from '@labelq/dev-services';
import { createStackKey } from './access.ts';
import { startStackPostgres, type StackPostgres } from './postgres.ts';
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
  /** Models folder. Default `<root>/models` (MODELS_DIR in `env` wins). */
  modelsDir?: string;
  /** Log level of the API and the worker. Default `warn` (LOG_LEVEL in `env` wins). */
  logLevel?: string;
  /**
   * Configuration of the services (variables of packages/config, e.g. `{ JOB_ATTEMPTS: '1' }` or the caller's
   * whole environment). The embedded services' own variables always win over these: REDIS_URL, S3_ENDPOINT,
   * S3_REGION, S3_FORCE_PATH_STYLE, the S3 credentials, S3_BUCKET and S3_CHECKSUMS; so do the per-run queue
   * and prefixes (S3 and REDIS_KEY_PREFIX) unless `persistent`. API_HOST defaults to `127.0.0.1` and API_PORT to `0` (a free port).
   */
  env?: Record<string, string>;
  /**
   * Use the configured queue (QUEUE_NAME, default `labelq`), S3 prefixes and REDIS_KEY_PREFIX, and keep the
   * queue at stop, so a restarted stack still answers for earlier jobs (`pnpm serve`). Default false: a unique
   * queue, S3 prefixes and REDIS_KEY_PREFIX per run, all removed from Redis at stop, so a run never meets another
   * user of the same Redis (demo, tests).
   */
  persistent?: boolean;
  /** Name of the stack's API key (`labelq keys list` shows it). Default `embedded stack`. */
  keyName?: string;
  /** Worker output is appended here; `null`: not kept. Default `<root>/.data/demo-worker.log`. */
  workerLogFile?: string | null;
  /** Worker output is also copied here, whole lines at a time (e.g. `process.stderr`). Default: not copied. */
  workerOutput?: NodeJS.WritableStream;
  /** How long to wait for the worker to load its models and connect to the queue, ms. Default 120000. */
  workerReadyTimeoutMs?: number;
}

export interface Stack {
  config: Config;
  /** The environment both services were configured from. */
  env: Record<string, string>;
  apiUrl: string;
  api: ApiServer;
  worker: ServiceProcess;
  /** The worker's HTTP endpoint (`/healthz`, `/readyz`, `/metrics`), on a free loopback port unless set. */
  workerUrl: string;
  s3: S3rverHandle;
  /** The folder s3rver keeps its buckets in. */
  s3Dir: string;
  redis: ResolvedRedis;
  /** The results index's Postgres: DATABASE_URL's, else 127.0.0.1:5432's, else a private cluster. */
  postgres: StackPostgres;
  /** Model names the API accepts (all by default). */
  models: readonly string[];
  /**
   * An API key of the `default` tenant with every scope (submit, read, review, admin), made for this run: send
   * it as `Authorization: Bearer <apiKey>`. Valid until stop (then revoked, or with a per-run prefix deleted).
   */
  apiKey: string;
  /**
   * Closes the API, stops the worker (graceful: it finishes its jobs within SHUTDOWN_TIMEOUT_MS), revokes the
   * API key (persistent) or removes the per-run queue and REDIS_KEY_PREFIX keys, stops s3rver and a private
   * Redis. Idempotent.
   */
  stop(): Promise<void>;
}

/** Thrown when the models have not been built: the message says what to run. */
export class ModelsMissingError extends Error {}

/**
 * Starts the embedded stack and resolves once the API listens and the worker has loaded its models and
 * connected to the queue; everything started is stopped again if a step fails (an API port in use rejects
 * with Node's `EADDRINUSE` error before the worker is spawned).
 */
export async function startStack(options: StackOptions, logger: Logger): Promise<Stack> {
  const root = resolve(options.root);
  const cleanups: (() => Promise<void>)[] = [];
  let stopping: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const fn of cleanups.splice(0).reverse())
        await fn().catch((err: unknown) => logger.warn({ err }, 'cleanup'));
    })());
  try {
    const redis = await resolveRedis(options.redisUrl ?? 'redis://127.0.0.1:6379');
    cleanups.push(() => redis.stop());
    const bucket = options.bucket ?? 'labelq-demo';
    const s3Dir = options.s3Dir ?? join(root, '.data', 's3');
    const s3 = await startS3rver({ dir: s3Dir, buckets: [bucket] });
    cleanups.push(() => s3.stop());

    // Unless persistent: a unique queue and prefixes per run, so the demo never collides with other users of
    // the same Redis (they win over options.env: the queue is removed at stop).
    const run = `${new Date().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`;
    const postgres = await startStackPostgres({
      databaseUrl: options.env?.DATABASE_URL,
      dataDir: join(root, '.data', 'postgres'),
      database: options.persistent ? 'labelq' : `labelq_demo_${run.replaceAll('-', '_')}`,
      dropAtStop: !options.persistent,
    });
    cleanups.push(() => postgres.stop());
    const perRun: Record<string, string> = options.persistent
      ? {}
      : {
          QUEUE_NAME: `labelq-demo-${run}`,
          REDIS_KEY_PREFIX: `labelq-demo-${run}`,
          S3_UPLOADS_PREFIX: `demo/${run}/uploads/`,
          S3_RESULTS_PREFIX: `demo/${run}/results/`,
          // The run's queue is removed at stop: a Redis that persists nothing loses nothing it needs.
          REDIS_PERSISTENCE: 'off',
        };
    const env: Record<string, string> = {
      LOG_LEVEL: options.logLevel ?? 'warn',
      MODELS_DIR: options.modelsDir ?? join(root, 'models'),
      API_HOST: '127.0.0.1',
      API_PORT: '0',
      ...options.env,
      ...perRun,
      // The embedded services': the caller's S3 and Redis settings describe other servers.
      REDIS_URL: redis.url,
      DATABASE_URL: postgres.databaseUrl,
      ...s3rverEnv(s3.endpoint, bucket),
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
    };
    const config = loadConfig(env);
    let models: string[];
    try {
      models = await configuredModelNames(config);
    } catch (err) {
      throw new ModelsMissingError(
        `No models in ${resolve(config.models.dir)}: run \`pnpm models\` first (${err instanceof Error ? err.message : String(err)})`,
      );
    }

    if (!options.persistent) cleanups.push(() => removeQueue(config));
    // The API checks keys on every /v1 request (and a production start needs a usable one): the stack's own,
    // made before the API starts and released after it has closed and the worker has drained.
    // A persistent stack (pnpm serve) shares the configured prefix with whatever else uses this Redis, so it
    // revokes exactly its key at stop: a fresh key per start means no secret is kept on disk between runs and
    // a key copied from the terminal dies with the server. A per-run prefix belongs to this run alone, so
    // everything under it (the key, rate-limit counters, open-job reservations) is deleted, like its queue.
    const stackKey = await createStackKey(
      config,
      options.keyName ?? 'embedded stack',
      options.persistent ? 'revoke' : 'purge',
    );
    cleanups.push(async () => {
      // A private Redis that is already gone took the key with it (it keeps nothing on disk).
      if (redis.started && !(await pingRedis(redis.url, 500))) return;
      await stackKey.release();
    });
    // The API first: a port in use fails the start before the worker loads its models. At stop it closes
    // first too (no new uploads), then the worker drains.
    const api = await startApi(config, logger, { models });
    cleanups.push(() => api.close());

    const workerLog =
      options.workerLogFile === undefined ? join(root, '.data', 'demo-worker.log') : options.workerLogFile;
    if (workerLog !== null) await mkdir(join(workerLog, '..'), { recursive: true });
    const workersBefore = await countWorkers(config);
    // A free port unless WORKER_HTTP_PORT names one: the embedded stack must start next to anything else.
    const workerHost = env.WORKER_HTTP_HOST ?? '127.0.0.1';
    const workerPort =
      env.WORKER_HTTP_PORT !== undefined && env.WORKER_HTTP_PORT !== '0'
        ? Number(env.WORKER_HTTP_PORT)
        : await freePort(workerHost === '0.0.0.0' ? '127.0.0.1' : workerHost);
    const workerUrl = `http://${workerHost === '0.0.0.0' ? '127.0.0.1' : workerHost}:${workerPort}`;
    const worker = spawnService('worker', {
      root,
      env: { ...env, WORKER_HTTP_HOST: workerHost, WORKER_HTTP_PORT: String(workerPort) },
      ...(workerLog !== null ? { logFile: workerLog } : {}),
      ...(options.workerOutput ? { output: options.workerOutput } : {}),
    });
    // Stopped after the API has closed (cleanups run in reverse), with time for its own drain deadline; but a
    // private Redis that is already gone leaves the worker nothing to drain into (a terminal's Ctrl-C reaches
    // redis-server too: it runs in our process group), so then it gets 2 s instead of SHUTDOWN_TIMEOUT_MS.
    cleanups.splice(-1, 0, async () => {
      const redisGone = redis.started && !(await pingRedis(redis.url, 500));
      await worker.stop(redisGone ? 2000 : config.worker.shutdownTimeoutMs + 5000);
    });
    await waitForWorker(config, worker, workersBefore, options.workerReadyTimeoutMs ?? 120_000);

    return {
      config,
      env,
      apiUrl: api.url,
      api,
      worker,
      workerUrl,
      s3,
      s3Dir,
      redis,
      postgres,
      models,
      apiKey: stackKey.key,
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

function queueFor(config: Config): { queue: Queue; close(): Promise<void> } {
  const connection = new Redis(config.redis.url, { maxRetriesPerRequest: 1 });
  const queue = new Queue(config.queue.name, { connection, prefix: config.queue.prefix });
  return {
    queue,
    close: async () => {
      await queue.close();
      connection.disconnect();
    },
  };
}

/** Workers connected to this queue (BullMQ names their blocking connection after it). */
async function countWorkers(config: Config): Promise<number> {
  const q = queueFor(config);
  try {
    return await q.queue.getWorkersCount();
  } finally {
    await q.close();
  }
}

/**
 * Resolves once one more worker is connected to the queue than before the spawn (the worker connects after
 * its start checks and model loading); rejects with its output if it exits first or takes longer than
 * `timeoutMs`.
 */
async function waitForWorker(
  config: Config,
  worker: ServiceProcess,
  before: number,
  timeoutMs: number,
): Promise<void> {
  let exited: number | string | undefined;
  void worker.exited.then((code) => (exited = code));
  const q = queueFor(config);
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exited !== undefined)
        throw new Error(`the worker exited (${exited}) during its start:\n${worker.tail()}`);
      if ((await q.queue.getWorkersCount()) > before) return;
      if (Date.now() > deadline)
        throw new Error(
          `the worker did not connect to the queue within ${timeoutMs / 1000}s:\n${worker.tail()}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await q.close();
  }
}

/** Deletes this run's queue keys (only this queue's: the Redis may be shared). */
async function removeQueue(config: Config): Promise<void> {
  const q = queueFor(config);
  try {
    await q.queue.obliterate({ force: true });
  } finally {
    await q.close();
  }
}
