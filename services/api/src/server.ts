import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '@labelq/config';
import type { ClassifyJobData } from '@labelq/queue';
import { buildApp } from './app.ts';
import { configuredModelNames } from './models.ts';
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
  /** Model names to accept. Default: {@link configuredModelNames} (MODELS, else the manifests in MODELS_DIR). */
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
  const models = options.models ?? (await configuredModelNames(config));
  const redis = createApiRedis(config.redis.url, logger);
  const queue = new Queue<ClassifyJobData>(config.queue.name, {
    connection: redis,
    prefix: config.queue.prefix,
  });
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
    logger.info({ url, models, queue: config.queue.name }, 'api listening');
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
