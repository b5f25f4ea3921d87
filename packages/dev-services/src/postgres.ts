// Postgres for the embedded stack and tests: the configured server (DATABASE_URL, or 127.0.0.1:5432 when it
// answers), else a private cluster from Debian's `postgresql` binaries on a free port.
//
// Running as root: postgres refuses to run as root (and initdb too). The private cluster is then owned by and
// run as the `postgres` system user that the Debian package creates (Node's spawn uid/gid, so the pid we hold is
// the postmaster itself and signals reach it directly); its data folder is chowned to that user. As any other
// user it simply runs as that user.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './free-port.ts';
import { startSupervised } from './supervised-process.ts';

const INSTALL_HINT =
  'PostgreSQL server binaries were not found (initdb, postgres under /usr/lib/postgresql/*/bin). Install them ' +
  'with: sudo apt-get install -y postgresql';

/** The newest Debian postgresql bin folder, or a folder on PATH holding initdb. */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return join(root, versions[0], 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim() !== '') return join(which.stdout.trim(), '..');
  throw new Error(INSTALL_HINT);
}

/** Whether a server answers a connection (and a trivial query) at `url` within `timeoutMs`. */
export async function pingPostgres(url: string, timeoutMs = 1000): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** uid/gid to run postgres as: ours, unless we are root (then the `postgres` system user). */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string): number => {
    const out = spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
    if (out.status !== 0)
      throw new Error('Running as root needs the `postgres` system user (the postgresql package creates it)');
    return Number(out.stdout.trim());
  };
  return { uid: id('-u'), gid: id('-g') };
}

async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  await chown(path, uid, gid);
  if ((await stat(path)).isDirectory())
    for (const entry of await readdir(path)) await chownTree(join(path, entry), uid, gid);
}

export interface StartPostgresOptions {
  /** Data folder; an existing cluster there is reused (its data kept), else initdb makes one. Required. */
  dataDir: string;
  /** Port. Default: a free one. */
  port?: number;
  /**
   * Durability off (fsync, synchronous_commit, full_page_writes): for tests and the demo on throwaway data; a
   * stop (fast shutdown) still checkpoints. Default true.
   */
  fast?: boolean;
  /** How long to wait for the server to accept connections, ms. Default 30000. */
  startTimeoutMs?: number;
}

export interface PostgresHandle {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication on 127.0.0.1 only). */
  url: string;
  port: number;
  dataDir: string;
  pid: number;
  readonly exited: Promise<void>;
  /** Fast shutdown (SIGINT), SIGKILL after 10 s; waits for the exit. Idempotent. */
  stop(): Promise<void>;
  /** Sends a signal (SIGKILL to simulate a crash) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts a private Postgres cluster in `dataDir` (initdb first when empty) on 127.0.0.1. Unlike redis-server,
 * postgres notices its parent's death only through its own postmaster checks, so callers stop() it; the
 * embedded stack does at exit, and the watchdog shell kills it when this process dies.
 */
export async function startPostgres(options: StartPostgresOptions): Promise<PostgresHandle> {
  const bin = postgresBinDir();
  const user = runAs();
  const { dataDir } = options;
  await mkdir(dataDir, { recursive: true });
  if (user !== undefined) await chown(dataDir, user.uid, user.gid);
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    const init = spawnSync(
      join(bin, 'initdb'),
      ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
      { encoding: 'utf8', ...(user ?? {}) },
    );
    if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.error?.message}`);
  } else if (user !== undefined) {
    await chownTree(dataDir, user.uid, user.gid);
  }
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = options.port ?? (await freePort());
    const handle = await startOnce(bin, dataDir, port, options, user);
    if (handle !== undefined) return handle;
    if (options.port !== undefined) throw new Error(`postgres could not start on port ${port}`);
  }
  throw new Error('postgres could not start on a free port after 5 attempts');
}

async function startOnce(
  bin: string,
  dataDir: string,
  port: number,
  options: StartPostgresOptions,
  user: { uid: number; gid: number } | undefined,
): Promise<PostgresHandle | undefined> {
  const fast = options.fast ?? true;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const server = await startSupervised({
    name: `postgres on port ${port}`,
    command: [
      join(bin, 'postgres'),
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      // The socket lives in the data folder: /var/run/postgresql may not exist or belong to another cluster.
      '-c',
      `unix_socket_directories=${dataDir}`,
      '-c',
      'max_connections=100',
      ...(fast ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
    ],
    ready: () => pingPostgres(url, 500),
    startTimeoutMs: options.startTimeoutMs ?? 30_000,
    pollMs: 100,
    portTaken: (stderr) => /could not bind|Address already in use/i.test(stderr),
    // Fast shutdown: a stop still checkpoints.
    stopSignal: 'SIGINT',
    stopEscalateMs: 10_000,
    user,
  });
  return server === undefined ? undefined : { url, port, dataDir, ...server };
}

export interface ResolvedPostgres {
  /** Server URL (its maintenance database). */
  url: string;
  /** True when this call started a private cluster. */
  started: boolean;
  stop(): Promise<void>;
}

/** The default server the embedded stack tries before starting its own. */
export const LOCAL_POSTGRES_URL = 'postgres://127.0.0.1:5432/postgres';

/**
 * `url` (DATABASE_URL) when given: used as it is (an unreachable one is the caller's problem, reported when
 * used). Otherwise 127.0.0.1:5432 if it answers (as the current OS user, then as `postgres`), else a private
 * cluster in `dataDir`.
 */
export async function resolvePostgres(url: string | undefined, dataDir: string): Promise<ResolvedPostgres> {
  if (url !== undefined) return { url, started: false, stop: () => Promise.resolve() };
  for (const candidate of [LOCAL_POSTGRES_URL, 'postgres://postgres@127.0.0.1:5432/postgres'])
    if (await pingPostgres(candidate))
      return { url: candidate, started: false, stop: () => Promise.resolve() };
  const server = await startPostgres({ dataDir });
  return { url: server.url, started: true, stop: () => server.stop() };
}

/**
 * Creates database `name` on the server at `serverUrl` unless it exists, and returns its URL (same server, user
 * and options, that database).
 */
export async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`Not a safe database name: ${name}`);
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      await client.query(`CREATE DATABASE ${name}`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err; // created meanwhile by another process
      });
    }
  } finally {
    await client.end();
  }
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Drops database `name` (terminating its connections first). */
export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`Not a safe database name: ${name}`);
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Removes a private cluster's data folder (after stop()). */
export async function removePostgresData(dataDir: string): Promise<void> {
  await rm(dataDir, { recursive: true, force: true });
}
