// Versioned migrations: plain SQL files in ../migrations, applied in order, each in its own transaction, recorded
// in labelq.schema_migrations with a checksum. Why not node-pg-migrate: the schema is small and SQL-first (the
// files are what docs/index.md explains and what an operator can read or run with psql), and the whole runner is
// this file: a session advisory lock so that many workers and API replicas starting together migrate once, and
// a checksum so an edited, already-applied migration is refused instead of silently diverging.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LabelqError } from '@labelq/errors';
import type { Pool } from 'pg';
import { EMBEDDED_MIGRATIONS } from './migrations.ts';

/** pg_advisory_lock key: "labelq" as bytes, so other applications' locks on the same database do not collide. */
const LOCK_KEY = 0x6c6162656c71n;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

function toMigration(file: string, sql: string): Migration {
  return {
    version: Number(file.slice(0, 4)),
    name: file.slice(5, -4),
    sql,
    checksum: createHash('sha256').update(sql).digest('hex'),
  };
}

/**
 * The migrations (`NNNN_name.sql`), in version order: from `dir` when given (tests, tools), else the SQL embedded
 * in migrations.ts, which is what bundled services run (they cannot read files next to their source).
 */
export async function loadMigrations(dir?: string): Promise<Migration[]> {
  if (dir === undefined) return EMBEDDED_MIGRATIONS.map((m) => toMigration(m.file, m.sql));
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(files.map(async (file) => toMigration(file, await readFile(join(dir, file), 'utf8'))));
}

/**
 * Brings the database to the newest schema; returns the versions it applied (empty when already current).
 * Safe to call from every process at start: the advisory lock serialises them and the later ones find nothing
 * to do. Throws `index_unavailable` when Postgres cannot be reached, `config_invalid` when an applied migration's
 * file changed or the database has a newer schema than this code knows.
 */
export async function migrate(pool: Pool, dir?: string): Promise<number[]> {
  const migrations = await loadMigrations(dir);
  const client = await pool.connect().catch((err: unknown) => {
    throw new LabelqError('index_unavailable', `Postgres is unreachable: ${(err as Error).message}`, {
      cause: err,
    });
  });
  const applied: number[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY.toString()]);
    await client.query('CREATE SCHEMA IF NOT EXISTS labelq');
    await client.query(`CREATE TABLE IF NOT EXISTS labelq.schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number; checksum: string }>(
      'SELECT version, checksum FROM labelq.schema_migrations ORDER BY version',
    );
    const done = new Map(rows.map((r) => [r.version, r.checksum]));
    const newest = migrations.at(-1)?.version ?? 0;
    const ahead = rows.filter((r) => r.version > newest);
    if (ahead.length > 0) {
      throw new LabelqError(
        'config_invalid',
        `The index database has schema version ${ahead.at(-1)!.version}, newer than this labelq knows (${newest})`,
      );
    }
    for (const m of migrations) {
      const checksum = done.get(m.version);
      if (checksum !== undefined) {
        if (checksum !== m.checksum) {
          throw new LabelqError(
            'config_invalid',
            `Migration ${m.version}_${m.name} was changed after it was applied (checksum mismatch)`,
          );
        }
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query(
          'INSERT INTO labelq.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)',
          [m.version, m.name, m.checksum],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY.toString()]).catch(() => undefined);
    client.release();
  }
}
