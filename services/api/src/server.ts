import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '@labelq/config';
import { KeyStore, OpenJobs } from '@labelq/access';
import { LabelqError } from '@labelq/errors';
import { assertPersistence, closeQueueClients, createClassifyQueue, settleWithin } from '@labelq/queue';
import type { Redis } from 'ioredis';
import { buildApp, DEFAULT_DEPENDENCY_TIMEOUT_MS } from './app.ts';
import { configuredModels } from './models.ts';
import { createApiRedis } from './redis.ts';
import { createApiStorage } from './storage-s3.ts';
import { createBatchApi } from './batch/wire.ts';
import { createObjectStore } from '@labelq/storage';
import { createApiWorkflow, type ApiWorkflowRuntime } from './workflow/build.ts';
import { openSearch } from './search-index.ts';

export interface ApiServer {
  app: FastifyInstance;
  /** `http://host:port` it listens on. */
  url: string;
  /** Stops accepting, finishes in-flight requests, then closes the queue and Redis. Idempotent. */
  close(): Promise<void>;
}

export interface StartApiOptions {
  /** Model names to accept. Default: `MODELS`, else every manifest in MODELS_DIR ({@link configuredModels}). */
  models?: readonly string[];
  /** Listen address. Default `config.api.host`. */
  host?: string;
  /** Listen port (0 picks a free one). Default `config.api.port`. */
  port?: number;
}

/** How long the start waits for Redis to check that API keys exist. */
const KEY_CHECK_WAIT_MS = 5000;

/**
 * A production start refuses to run without a usable API key (every request would be refused): it says how to
 * create one. When Redis does not answer in time the check is skipped with a warning: the API then starts as
 * it does in a Redis outage (503 until Redis returns), rather than not at all.
 */
async function assertKeysExist(keys: KeyStore, redis: Redis, logger: Logger): Promise<void> {
  let usable: boolean;
  try {
    if (redis.status !== 'ready') {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('Redis not ready')), KEY_CHECK_WAIT_MS);
        redis.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    usable = await keys.hasUsableKey();
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'could not check for API keys at start (Redis unreachable)');
    return;
  }
  if (!usable) {
    throw new LabelqError(
      'auth_not_configured',
      'No usable API key exists: create one with `pnpm labelq keys create --tenant <tenant> --scopes ' +
        'submit,read,admin` (same REDIS_URL and REDIS_KEY_PREFIX), or set AUTH_DISABLED=true for an API only ' +
        'trusted clients can reach',
    );
  }
}

/** Resolves true once `redis` is ready, false after `ms`. */
async function readyWithin(redis: Redis, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return true;
  return new Promise<boolean>((resolve) => {
    const onReady = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, ms);
    redis.once('ready', onReady);
  });
}

/**
 * The API accepts jobs (202) that only Redis holds: on a Redis that persists nothing a restart loses them all,
 * so REDIS_PERSISTENCE decides (refuse, as for the container image, or warn). Skipped with a warning when Redis
 * does not answer in time (the API then starts as in an outage) or forbids CONFIG (managed services).
 */
async function checkPersistence(config: Config, redis: Redis, logger: Logger): Promise<void> {
  if (config.redis.persistence === 'off') return;
  if (!(await readyWithin(redis, KEY_CHECK_WAIT_MS))) {
    logger.warn('could not check Redis persistence at start (Redis unreachable)');
    return;
  }
  try {
    await assertPersistence(redis, config.redis.persistence, logger);
  } catch (err) {
    if (err instanceof LabelqError && err.code === 'redis_unsupported') {
      logger.warn({ err: err.message }, 'could not check Redis persistence (CONFIG refused)');
      return;
    }
    throw err;
  }
}

/** Wires the API from Config (Redis, BullMQ queue, S3, readiness checks) and listens. */
export async function startApi(
  config: Config,
  logger: Logger,
  options: StartApiOptions = {},
): Promise<ApiServer> {
  const models = await configuredModels(config, options.models);
  const redis = createApiRedis(config.redis.url, logger, DEFAULT_DEPENDENCY_TIMEOUT_MS);
  const queue = createClassifyQueue(config, redis);
  queue.on('error', (err) => logger.debug({ err: err.message }, 'queue error'));
  const objects = createObjectStore(config.s3);
  const storage = createApiStorage(config, objects);
  const batches = createBatchApi(config, redis);
  let workflow: ApiWorkflowRuntime | undefined;
  const closers: (() => Promise<void> | undefined)[] = [];
  const shutdownQueue = async (): Promise<void> => {
    // Each close is bounded: with Redis gone, a BullMQ close can wait forever for a connection that never
    // becomes ready, and a stopping API must not hang on it (SHUTDOWN_TIMEOUT_MS governs the whole stop).
    await workflow?.close();
    for (const close of closers.splice(0)) await settleWithin(close(), 2000);
    // The classify and batch control queues share the API connection (closeQueueClients says why the order).
    await closeQueueClients([queue, batches.deps.control], [redis]);
    await settleWithin(batches.close(), 2000);
    storage.destroy();
  };
  try {
    const keys = config.access.disabled ? undefined : new KeyStore(redis, { prefix: config.redis.keyPrefix });
    if (keys === undefined) {
      logger.warn(
        'AUTH_DISABLED=true: no API keys; every request acts as the default tenant with every scope',
      );
    } else {
      await assertKeysExist(keys, redis, logger);
    }
    await checkPersistence(config, redis, logger);
    workflow = await createApiWorkflow(config, redis, objects, logger);
    const search = openSearch(config, logger, redis);
    closers.push(() => search?.close());
    const app = await buildApp({
      config,
      logger,
      queue,
      storage,
      models,
      ...(keys !== undefined ? { keys } : {}),
      openJobs: new OpenJobs(redis, config.redis.keyPrefix),
      batches: batches.deps,
      workflow: workflow.workflow,
      ...(search !== undefined ? { search: search.service, resultsIndex: search.writer } : {}),
      rateLimit: { redis, perMinute: config.access.rateLimitPerMinute, prefix: config.redis.keyPrefix },
      readiness: [
        // A write, not PING: a Redis out of memory (noeviction) still answers PING but refuses every new job.
        {
          name: 'redis',
          check: async () => void (await redis.set(`${config.redis.keyPrefix}:readyz`, '1', 'PX', 10_000)),
        },
        { name: 's3', check: () => storage.ping() },
      ],
    });
    const url = await app.listen({
      host: options.host ?? config.api.host,
      port: options.port ?? config.api.port,
    });
    logger.info({ url, models: models.map((m) => m.name), queue: config.queue.name }, 'api listening');
    let closed: Promise<void> | undefined;
    return {
      app,
      url,
      close: () =>
        (closed ??= (async () => {
          await app.close();
          await shutdownQueue();
        })()),
    };
  } catch (err) {
    await shutdownQueue();
    throw err;
  }
}
