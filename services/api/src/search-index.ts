import type { Config } from '@labelq/config';
import { createIndexPool, migrate, SearchService } from '@labelq/index';
import type { Logger } from 'pino';

/**
 * The API's connection to the results index when DATABASE_URL is set. Migrations are applied in the background
 * (every replica may try; the advisory lock makes one do it): a Postgres outage at start leaves uploads and
 * results working, and search answers 503 `index_unavailable` until Postgres is back.
 */
export function openSearch(
  config: Config,
  logger: Logger,
): { service: SearchService; close(): Promise<void> } | undefined {
  const url = config.index.databaseUrl;
  if (url === undefined) return undefined;
  const pool = createIndexPool(url, { max: 10, applicationName: 'labelq-api' });
  void migrate(pool).then(
    (applied) => applied.length > 0 && logger.info({ applied }, 'index migrations applied'),
    (err: unknown) =>
      logger.warn({ err: (err as Error).message }, 'index migrations not applied (Postgres unreachable?)'),
  );
  return { service: new SearchService(pool), close: () => pool.end() };
}
