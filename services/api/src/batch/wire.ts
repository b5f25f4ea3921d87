import { BatchStore, createControlQueue } from '@labelq/batch';
import type { Config } from '@labelq/config';
import { createObjectStore } from '@labelq/storage';
import type { Redis } from 'ioredis';
import type { BatchApiDeps } from './deps.ts';

/** The batch routes' dependencies on the API's Redis connection, and their close. */
export function createBatchApi(config: Config, redis: Redis): { deps: BatchApiDeps; close(): Promise<void> } {
  const control = createControlQueue(config, redis);
  control.on('error', () => undefined);
  const s3 = createObjectStore(config.s3);
  return {
    deps: { store: new BatchStore(redis, config.redis.keyPrefix), control, s3 },
    close: async () => {
      await control.close().catch(() => undefined);
      s3.destroy();
    },
  };
}
