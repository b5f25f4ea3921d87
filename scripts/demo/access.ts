// The embedded stack's API key: created before the API starts (which refuses to start in production without a
// usable key, and answers 401 to requests without one), released at stop.
import { KeyStore } from '@labelq/access';
import type { Config } from '@labelq/config';
import { DEFAULT_TENANT, SCOPES } from '@labelq/contracts';
import { Redis } from 'ioredis';

export interface StackKey {
  /** `lq_live_...`: what clients send as `Authorization: Bearer <key>`. */
  key: string;
  id: string;
  /** Revokes the key (`revoke`) or deletes every key under the run's own prefix (`purge`). */
  release(): Promise<void>;
}

/** A short-lived connection that fails fast (no reconnects, bounded commands): never a hang at start or stop. */
async function withKeyStore<T>(
  config: Config,
  use: (store: KeyStore, redis: Redis) => Promise<T>,
): Promise<T> {
  const redis = new Redis(config.redis.url, {
    lazyConnect: true,
    connectTimeout: 3000,
    commandTimeout: 5000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined); // connect() and each command reject with it
  try {
    await redis.connect();
    return await use(new KeyStore(redis, { prefix: config.redis.keyPrefix }), redis);
  } finally {
    if (redis.status !== 'end') redis.disconnect();
  }
}

/**
 * Creates a key for the `default` tenant with every scope, under `config.redis.keyPrefix`.
 * `revoke`: release revokes it (a persistent stack's prefix is shared with whatever else uses the Redis).
 * `purge`: release deletes every key under the prefix, which must belong to this run alone (the API's rate-limit
 * counters and the tenant's open-job reservations live there too).
 */
export async function createStackKey(
  config: Config,
  name: string,
  mode: 'revoke' | 'purge',
): Promise<StackKey> {
  const created = await withKeyStore(config, (store) =>
    store.create({ tenant: DEFAULT_TENANT, scopes: [...SCOPES], name }),
  );
  return {
    key: created.key,
    id: created.id,
    release: () =>
      withKeyStore(config, async (store, redis) => {
        if (mode === 'revoke') {
          await store.revoke(created.id);
          return;
        }
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${config.redis.keyPrefix}:*`, 'COUNT', 500);
          cursor = next;
          if (keys.length > 0) await redis.unlink(...keys);
        } while (cursor !== '0');
      }),
  };
}
