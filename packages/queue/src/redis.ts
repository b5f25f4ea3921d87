import { LabelqError } from '@labelq/errors';
import { Redis, type RedisOptions } from 'ioredis';

/**
 * An ioredis connection for a BullMQ Worker: `maxRetriesPerRequest: null` (BullMQ requires it: blocking
 * commands must wait through reconnects instead of failing) and a capped reconnect delay.
 */
export function createWorkerConnection(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(200 * times, 5000),
    ...options,
  });
}

/**
 * Refuses Redis with an eviction policy: BullMQ keeps jobs and locks as keys, and an evicted key is a lost or
 * duplicated job. Throws `redis_eviction_policy` naming the policy found. Managed services that forbid CONFIG
 * (e.g. some cloud Redis) answer an error: that is reported as `redis_unsupported` with the reason.
 */
export async function assertNoEviction(redis: Redis): Promise<void> {
  let reply: unknown;
  try {
    reply = await redis.config('GET', 'maxmemory-policy');
  } catch (err) {
    throw new LabelqError(
      'redis_unsupported',
      `Could not read Redis maxmemory-policy: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const policy = Array.isArray(reply) ? String(reply[1]) : String(reply);
  if (policy !== 'noeviction') {
    throw new LabelqError(
      'redis_eviction_policy',
      `Redis maxmemory-policy is "${policy}"; labelq needs "noeviction" (set maxmemory-policy noeviction in redis.conf or CONFIG SET)`,
      { details: { policy } },
    );
  }
}
