// A fresh, migrated index database per test (unique name, dropped afterwards) on the tests' Postgres server.
import { dropDatabase, ensureDatabase } from '@labelq/dev-services';
import { createIndexPool, migrate, type Pool } from '@labelq/index';

/** The tests' Postgres server URL (global-setup.ts exports it). */
export function testPostgresUrl(): string {
  return process.env.TEST_POSTGRES_URL ?? 'postgres://127.0.0.1:5432/postgres';
}

export interface TestIndexDb {
  /** URL of the test's own database (what DATABASE_URL would be). */
  url: string;
  name: string;
  pool: Pool;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

export async function createTestIndexDb(serverUrl = testPostgresUrl()): Promise<TestIndexDb> {
  const name = `labelq_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const url = await ensureDatabase(serverUrl, name);
  const pool = createIndexPool(url, { max: 4 });
  await migrate(pool);
  return {
    url,
    name,
    pool,
    drop: async () => {
      await pool.end().catch(() => undefined);
      await dropDatabase(serverUrl, name);
    },
  };
}

/** Both index tables in a canonical order, without indexed_at (when, not what): a live index equals a reindex. */
export async function dumpIndex(pool: Pool): Promise<unknown[]> {
  const images = await pool.query(
    `SELECT tenant, id, status, bucket, key, etag, format, bytes, width, height, content_type, purpose, origin,
       batch_id, submitted_at, finished_at, decision, model_decision, reviewed_by, reviewed_at, revised_at,
       policy_version, models, error_code, schema_version, ocr_text, phash, brightness, sharpness, colours
     FROM labelq.images ORDER BY tenant, id`,
  );
  const labels = await pool.query('SELECT * FROM labelq.labels ORDER BY tenant, image_id, model, label');
  return [images.rows, labels.rows];
}
