import type { Config } from '@labelq/config';
import {
  createIndexPool,
  createLiveIndexWriter,
  createOutcomeRecorder,
  migrate,
  SearchService,
  type LiveIndexWriter,
} from '@labelq/index';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * The API's connection to the results index when DATABASE_URL is set. Migrations are applied in the background
 * (every replica may try; the advisory lock makes one do it): a Postgres outage at start leaves uploads and
 * results working, and search answers 503 `index_unavailable` until Postgres is back. `writer` puts documents the
 * API changes (review decisions) into the index at once, through the outcome stream on `redis` when Postgres
 * does not answer.
 */
export function openSearch(
  config: Config,
  logger: Logger,
  redis: Redis,
): { service: SearchService; writer: LiveIndexWriter; close(): Promise<void> } | undefined {
  const url = config.index.databaseUrl;
  if (url === undefined) return undefined;
  const pool = createIndexPool(url, { max: 10, applicationName: 'labelq-api' });
  void migrate(pool).then(
    (applied) => applied.length > 0 && logger.info({ applied }, 'index migrations applied'),
    (err: unknown) =>
      logger.warn({ err: (err as Error).message }, 'index migrations not applied (Postgres unreachable?)'),
  );
  const outcomes = createOutcomeRecorder(redis, {
    keyPrefix: config.redis.keyPrefix,
    maxEntries: config.index.streamMaxEntries,
    onProblem: ({ reason, imageId, error }) =>
      logger.error(
        { imageId, reason, err: error },
        'a changed document reached neither the index nor its stream: `labelq reindex` repairs it',
      ),
  });
  const writer = createLiveIndexWriter({
    pool,
    outcomes,
    onFallback: (imageId, err) =>
      logger.warn(
        { imageId, err: (err as Error).message },
        'index update queued in the outcome stream (Postgres did not answer)',
      ),
  });
  return { service: new SearchService(pool), writer, close: () => pool.end() };
}
