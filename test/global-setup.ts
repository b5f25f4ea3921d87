// Once per `vitest run`: the tests' Redis. Uses REDIS_URL or 127.0.0.1:6379 when one answers, else starts a
// private redis-server on a free port (a fresh machine has the binary from set-up but may not run the service),
// and exports its URL as REDIS_URL for every test file. Tests that kill or restart Redis start their own.
// Postgres likewise: TEST_POSTGRES_URL (a server URL: tests create and drop their own databases), else
// 127.0.0.1:5432 when it answers, else a private cluster in a temporary folder; exported as TEST_POSTGRES_URL.
import { resolveRedis } from '@labelq/dev-services';
import { setupTestPostgres } from './helpers/postgres-setup.ts';

export default async function setup(): Promise<() => Promise<void>> {
  const redis = await resolveRedis(process.env.REDIS_URL);
  process.env.REDIS_URL = redis.url;
  if (redis.started) console.log(`tests: started a private redis-server at ${redis.url}`);
  const postgres = await setupTestPostgres();
  return async () => {
    await postgres.stop();
    await redis.stop();
  };
}
