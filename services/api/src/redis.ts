import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * The API's Redis connection. No offline queue and short timeouts: with Redis down, commands fail at once and
 * the API answers 503 instead of queueing requests in memory and hanging. It keeps reconnecting (up to every
 * 2 s) so the API recovers by itself. Errors are logged once per outage, not once per reconnect attempt.
 */
export function createApiRedis(url: string, logger: Logger): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    connectTimeout: 1000,
    commandTimeout: 1000,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  let down = false;
  redis.on('error', (err: Error) => {
    if (!down) logger.error({ err: err.message }, 'Redis connection error');
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info('Redis connection restored');
    down = false;
  });
  return redis;
}
