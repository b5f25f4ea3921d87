// The embedded stack's Postgres (the results index), like its Redis: DATABASE_URL when the caller set one (used
// as it is), else the server at 127.0.0.1:5432 when it answers, else a private cluster in .data/postgres on a
// free port (Debian's postgresql binaries; run as the `postgres` user when we are root). On a server it did not
// configure, the stack uses its own database: `labelq` for `pnpm serve`, a per-run one (dropped at stop) for
// the demo and tests.
import { dropDatabase, ensureDatabase, resolvePostgres } from '@labelq/dev-services';

export interface StackPostgres {
  /** What the services get as DATABASE_URL. */
  databaseUrl: string;
  /** True when the stack started a private cluster. */
  started: boolean;
  stop(): Promise<void>;
}

export interface StackPostgresOptions {
  databaseUrl: string | undefined;
  dataDir: string;
  database: string;
  dropAtStop: boolean;
}

export async function startStackPostgres(options: StackPostgresOptions): Promise<StackPostgres> {
  if (options.databaseUrl !== undefined && options.databaseUrl !== '')
    return { databaseUrl: options.databaseUrl, started: false, stop: () => Promise.resolve() };
  const server = await resolvePostgres(undefined, options.dataDir);
  try {
    const databaseUrl = await ensureDatabase(server.url, options.database);
    return {
      databaseUrl,
      started: server.started,
      stop: async () => {
        if (options.dropAtStop) await dropDatabase(server.url, options.database).catch(() => undefined);
        await server.stop();
      },
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}
