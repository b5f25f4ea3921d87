// The API under test on real HTTP, against the tests' Redis (a queue and prefix of its own) and a private s3rver:
// the set-up most API integration tests share.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { buildApp, createApiStorage, type ApiDeps } from '@labelq/api';
import { loadConfig, type Config } from '@labelq/config';
import type { StoredJobPayload } from '@labelq/contracts';
import { testEnv, testRedisUrl, uniqueName } from './env.ts';
import { modelInfos } from './models.ts';
import { startLocalS3, type LocalS3 } from './s3.ts';

export interface ApiStackOptions {
  /** Names the queue, the S3 prefix and the Redis key prefix (made unique per call). */
  name: string;
  /** Buckets s3rver creates; the first is the configured bucket (S3_BUCKET). */
  buckets: [string, ...string[]];
  /** Models the API knows of (`GET /v1/models`, `models=`). Default `['alpha-net']`. */
  models?: string[];
  /** Extra environment for the config, e.g. `{ MAX_UPLOAD_BYTES: '200000' }`. */
  env?: Record<string, string>;
  /** Default a silent logger. */
  logger?: Logger;
  /** Further dependencies (keys, readiness, workflow...), given the config, connection and queue. */
  deps?: (stack: QueueContext) => Partial<ApiDeps>;
}

/** What the API is built from: its config, the Redis connection (offline queue off, as in server.ts) and queue. */
export interface QueueContext {
  config: Config;
  redis: Redis;
  queue: Queue<StoredJobPayload>;
  s3: LocalS3;
  /** The API's storage on the configured bucket (its S3 client is destroyed by stop()). */
  storage: ReturnType<typeof createApiStorage>;
}

export interface ApiStack extends QueueContext {
  app: Awaited<ReturnType<typeof buildApp>>;
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** Closes the API, removes the queue and its keys, stops s3rver and deletes its folder. */
  stop(): Promise<void>;
}

export async function startApiStack(options: ApiStackOptions): Promise<ApiStack> {
  const s3 = await startLocalS3(options.buckets);
  const run = uniqueName(options.name);
  const config = loadConfig(
    testEnv({
      redisUrl: testRedisUrl(),
      queueName: run,
      s3Endpoint: s3.endpoint,
      bucket: options.buckets[0],
      prefix: run,
      extra: { REDIS_KEY_PREFIX: run, LOG_LEVEL: 'silent', ...options.env },
    }),
  );
  const redis = new Redis(config.redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  const queue = new Queue<StoredJobPayload>(config.queue.name, {
    connection: redis,
    prefix: config.queue.prefix,
  });
  const storage = createApiStorage(config);
  const context: QueueContext = { config, redis, queue, s3, storage };
  const app = await buildApp({
    config,
    logger: options.logger ?? pino({ level: 'silent' }),
    queue,
    storage,
    models: modelInfos(options.models ?? ['alpha-net']),
    ...options.deps?.(context),
  });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const stop = async (): Promise<void> => {
    await app.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    const left = await redis.keys(`${config.redis.keyPrefix}:*`).catch(() => []);
    if (left.length > 0) await redis.del(...left).catch(() => undefined);
    redis.disconnect();
    storage.destroy();
    await s3.stop();
  };
  return { ...context, app, base, stop };
}
