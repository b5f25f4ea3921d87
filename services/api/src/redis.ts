import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { commandTimeoutFor } from './timeout.ts';

/**
 * The API's Redis connection. No offline queue and short timeouts: with Redis down, commands fail at once and
 * the API answers 503 instead of queueing requests in memory and hanging. It keeps reconnecting (up to every
 * 2 s) so the API recovers by itself. Errors are logged once per outage, not once per reconnect attempt.
 * `deadlineMs` is the deadline routes give Redis ({@link commandTimeoutFor}: the command timeout only backs it).
 */
export function createApiRedis(url: string, logger: Logger, deadlineMs: number): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    connectTimeout: 1000,
    commandTimeout: commandTimeoutFor(deadlineMs),
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
