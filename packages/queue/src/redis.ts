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

/** How Redis persists its data, as `CONFIG GET` reports it. */
export interface RedisPersistence {
  appendonly: boolean;
  /** RDB save points (`save`), empty when snapshots are off. */
  save: string;
  persistent: boolean;
}

/** Reads `appendonly` and `save`; `redis_unsupported` when CONFIG is forbidden. */
export async function readPersistence(redis: Redis): Promise<RedisPersistence> {
  let replies: unknown[];
  try {
    replies = await Promise.all([redis.config('GET', 'appendonly'), redis.config('GET', 'save')]);
  } catch (err) {
    throw new LabelqError(
      'redis_unsupported',
      `Could not read Redis persistence: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const value = (reply: unknown): string => (Array.isArray(reply) ? String(reply[1] ?? '') : String(reply));
  const appendonly = value(replies[0]) === 'yes';
  const save = value(replies[1]).trim();
  return { appendonly, save, persistent: appendonly || save !== '' };
}

/**
 * BullMQ keeps every accepted job only in Redis: a Redis that persists nothing (no AOF, no RDB save points)
 * loses all of them on a restart or crash, silently (the API already answered 202). `refuse` throws
 * `redis_not_persistent`; `warn` logs an error and goes on (development, the embedded stack); `off` skips
 * the check. AOF (`appendonly yes`, `appendfsync everysec`) loses at most a second; RDB alone loses everything
 * since the last snapshot, which is accepted but called out.
 */
export async function assertPersistence(
  redis: Redis,
  mode: 'refuse' | 'warn' | 'off',
  logger: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void },
): Promise<void> {
  if (mode === 'off') return;
  const found = await readPersistence(redis);
  if (found.persistent) {
    if (!found.appendonly) {
      logger.warn(
        { save: found.save },
        'Redis persists by RDB snapshots only: a crash loses the jobs accepted since the last one (use appendonly yes)',
      );
    }
    return;
  }
  const message =
    'Redis persists nothing (appendonly no, no save points): a restart loses every accepted job. Set ' +
    '`appendonly yes` (and `appendfsync everysec`), or REDIS_PERSISTENCE=warn for a disposable Redis';
  if (mode === 'refuse') {
    throw new LabelqError('redis_not_persistent', message, { details: { appendonly: false, save: '' } });
  }
  logger.error({ code: 'redis_not_persistent' }, message);
}
