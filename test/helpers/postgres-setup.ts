import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolvePostgres } from '@labelq/dev-services';

/**
 * The tests' Postgres server (see global-setup.ts). Started lazily only when nothing answers; the private
 * cluster's folder is world-traversable because postgres runs as the `postgres` user when we are root.
 */
export async function setupTestPostgres(): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'labelq-test-pg-'));
  await chmod(dir, 0o755);
  const postgres = await resolvePostgres(process.env.TEST_POSTGRES_URL, join(dir, 'data'));
  process.env.TEST_POSTGRES_URL = postgres.url;
  if (postgres.started) console.log(`tests: started a private Postgres at ${postgres.url}`);
  return {
    url: postgres.url,
    stop: async () => {
      await postgres.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
