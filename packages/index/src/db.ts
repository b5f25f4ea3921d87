import { LabelqError } from '@labelq/errors';
import pg from 'pg';

export type { Pool } from 'pg';

export interface IndexPoolOptions {
  /** Most connections this process opens. Default 10. */
  max?: number;
  /** Longest a connection attempt may take, ms. Default 3000: an outage answers quickly, never hangs. */
  connectTimeoutMs?: number;
  /** Longest one statement may run, ms (server-side `statement_timeout`). Default 10000. */
  statementTimeoutMs?: number;
  /** `application_name`, shown in pg_stat_activity. Default `labelq`. */
  applicationName?: string;
}

/** A pg Pool for the index database; idle-client errors (a restarted server) are absorbed, not fatal. */
export function createIndexPool(url: string, options: IndexPoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
    statement_timeout: options.statementTimeoutMs ?? 10_000,
    application_name: options.applicationName ?? 'labelq',
    idleTimeoutMillis: 30_000,
  });
  // An idle client whose server went away emits 'error' on the pool; without a listener node would crash.
  pool.on('error', () => undefined);
  return pool;
}

/** Connection-level trouble (refused, reset, timed out, server shutting down): retry later. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  const code = e?.code ?? '';
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code))
    return true;
  // SQLSTATE class 08 (connection exception), 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now).
  if (/^08/.test(code) || /^57P0[123]$/.test(code)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    e?.message ?? '',
  );
}

/** Maps a pg error to a LabelqError: connection trouble is `index_unavailable` (retryable), else `internal`. */
export function indexError(err: unknown): LabelqError {
  if (err instanceof LabelqError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (isConnectionError(err))
    return new LabelqError('index_unavailable', `The results index is unreachable: ${message}`, {
      cause: err,
    });
  // 42P01 / 3F000: the tables or schema do not exist yet (migrations not applied: Postgres was down at start).
  const code = (err as { code?: string }).code;
  if (code === '42P01' || code === '3F000')
    return new LabelqError('index_unavailable', `The results index is not set up yet: ${message}`, {
      cause: err,
    });
  // 57014: statement_timeout.
  if ((err as { code?: string }).code === '57014')
    return new LabelqError('timeout', `The index query took too long: ${message}`, { cause: err });
  return new LabelqError('internal', `Index query failed: ${message}`, { cause: err });
}
