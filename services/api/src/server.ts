import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '@labelq/config';
import { createClassifyQueue } from '@labelq/queue';
import { buildApp } from './app.ts';
import { configuredModels } from './models.ts';
import { createApiRedis } from './redis.ts';
import { createApiStorage } from './storage-s3.ts';

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

/** Wires the API from Config (Redis, BullMQ queue, S3, readiness checks) and listens. */
export async function startApi(
  config: Config,
  logger: Logger,
  options: StartApiOptions = {},
): Promise<ApiServer> {
  const models = await configuredModels(config, options.models);
  const redis = createApiRedis(config.redis.url, logger);
  const queue = createClassifyQueue(config, redis);
  queue.on('error', (err) => logger.debug({ err: err.message }, 'queue error'));
  const storage = createApiStorage(config);
  const shutdownQueue = async (): Promise<void> => {
    await queue.close().catch(() => undefined);
    redis.disconnect();
    storage.destroy();
  };
  try {
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
