// The only wiring file of the API: configuration, logger, Redis, queue, storage, then listen.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadConfig } from '@labelq/config';
import type { ClassifyJobData } from '@labelq/queue';
import { buildApp } from './app.ts';
import { configuredModelNames } from './models.ts';
import { createApiStorage } from './storage-s3.ts';

const config = loadConfig();
const logger = pino({ level: config.logLevel, base: { service: 'api' } });

// No offline queue and short timeouts: with Redis down, commands fail at once and the API answers 503
// instead of queueing requests in memory and hanging.
const redis = new Redis(config.redis.url, {
  enableOfflineQueue: false,
  connectTimeout: 1000,
  commandTimeout: 1000,
  maxRetriesPerRequest: 1,
  retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
});
let redisDown = false;
redis.on('error', (err) => {
  // Logged once per outage, not once per reconnect attempt.
  if (!redisDown) logger.error({ err: err.message }, 'Redis connection error');
  redisDown = true;
});
redis.on('ready', () => {
  if (redisDown) logger.info('Redis connection restored');
  redisDown = false;
});

const queue = new Queue<ClassifyJobData>(config.queue.name, {
  connection: redis,
  prefix: config.queue.prefix,
});
queue.on('error', (err) => logger.debug({ err: err.message }, 'queue error'));
const storage = createApiStorage(config);

try {
  const models = await configuredModelNames(config);
  const app = await buildApp({
    config,
    logger,
    queue,
    storage,
    models,
    readiness: [
      { name: 'redis', check: async () => void (await redis.ping()) },
      { name: 's3', check: () => storage.ping() },
    ],
  });
  await app.listen({ host: config.api.host, port: config.api.port });
  logger.info({ models, queue: config.queue.name }, 'api listening');

  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'api shutting down');
    const done = async (): Promise<void> => {
      await app.close(); // stops accepting, finishes in-flight requests
      await queue.close();
      redis.disconnect();
    };
    done().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
} catch (err) {
  logger.fatal({ err }, 'api failed to start');
  redis.disconnect();
  process.exit(1);
}
