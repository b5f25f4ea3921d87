// The worker's part in the results index: record every final document in the outcome stream and, unless
// INDEXER_ENABLED=false, run an indexer (stream -> Postgres) in this process. Neither can fail or slow a job:
// appends are bounded in time and never throw; the indexer runs beside the jobs and retries on its own.
import type { Config } from '@labelq/config';
import { createIndexer, createIndexPool, createOutcomeRecorder, type OutcomeRecorder } from '@labelq/index';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface IndexRole {
  recorder: OutcomeRecorder;
  /** Stops the indexer (after its current batch) and closes its connections. */
  close(): Promise<void>;
}

/** Undefined when DATABASE_URL is unset (no index). `connection`: the worker's Redis connection, for appends. */
export async function startIndexRole(
  config: Config,
  connection: Redis,
  logger: Logger,
): Promise<IndexRole | undefined> {
  const url = config.index.databaseUrl;
  if (url === undefined) return undefined;
  const recorder = createOutcomeRecorder(connection, {
    keyPrefix: config.redis.keyPrefix,
    maxEntries: config.index.streamMaxEntries,
    onProblem: ({ reason, imageId, error }) =>
      reason === 'overflow'
        ? logger.error(
            { imageId, maxEntries: config.index.streamMaxEntries },
            'index stream full (is the indexer or Postgres down?): this outcome reaches the index only by `labelq reindex`',
          )
        : logger.warn({ imageId, err: error }, 'could not record the outcome for the index'),
  });
  if (!config.index.indexerEnabled) return { recorder, close: () => Promise.resolve() };
  const pool = createIndexPool(url, { max: 2, applicationName: 'labelq-indexer' });
  // Its own connection: the indexer blocks on XREADGROUP.
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: null });
  redis.on('error', (err) => logger.debug({ err: err.message }, 'indexer redis error'));
  const indexer = createIndexer({
    redis,
    pool,
    keyPrefix: config.redis.keyPrefix,
    maxEntries: config.index.streamMaxEntries,
    logger,
  });
  await indexer.start();
  return {
    recorder,
    close: async () => {
      await indexer.stop();
      await pool.end().catch(() => undefined);
    },
  };
}
