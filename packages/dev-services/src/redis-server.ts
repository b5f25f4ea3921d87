import { spawnSync } from 'node:child_process';
import { freePort } from './free-port.ts';
import { pingRedis } from './redis-ping.ts';
import { startSupervised } from './supervised-process.ts';

export interface StartRedisOptions {
  /** Port to listen on. Default: a free port (retried if another process takes it first). */
  port?: number;
  /** Extra redis-server arguments, e.g. `['--maxmemory-policy', 'allkeys-lru']`. Default none. */
  args?: string[];
  /** How long to wait for the first PONG, ms. Default 10000. */
  startTimeoutMs?: number;
}

export interface RedisServerHandle {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** PID of the redis-server process itself (not its watchdog shell). */
  pid: number;
  /** Resolves when the server has exited (for any reason). */
  readonly exited: Promise<void>;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
  /** Sends `signal` to redis-server (e.g. 'SIGKILL' to simulate a crash) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const INSTALL_HINT =
  'redis-server was not found on PATH. Install it with: sudo apt-get install -y redis-server';

let checkedBinary = false;
function assertRedisInstalled(): void {
  if (checkedBinary) return;
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  if (probe.error !== undefined || probe.status !== 0) throw new Error(INSTALL_HINT);
  checkedBinary = true;
}

async function startOnce(port: number, options: StartRedisOptions): Promise<RedisServerHandle | undefined> {
  const url = `redis://127.0.0.1:${port}`;
  const server = await startSupervised({
    name: `redis-server on port ${port}`,
    command: [
      'redis-server',
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      ...(options.args ?? []),
    ],
    ready: () => pingRedis(url, 500),
    startTimeoutMs: options.startTimeoutMs ?? 10_000,
    pollMs: 50,
    portTaken: (stderr) => /Address already in use/i.test(stderr),
    stopSignal: 'SIGTERM',
    stopEscalateMs: 5000,
  });
  return server === undefined ? undefined : { url, port, ...server };
}

/**
 * Spawns `redis-server --port P --save '' --appendonly no` on 127.0.0.1 and waits until it answers PING.
 * The server dies with this process (see supervised-process.ts). Throws with the apt install command when redis-server is
 * missing.
 */
export async function startRedisServer(options: StartRedisOptions = {}): Promise<RedisServerHandle> {
  assertRedisInstalled();
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = options.port ?? (await freePort());
    const handle = await startOnce(port, options);
    if (handle !== undefined) return handle;
    if (options.port !== undefined) throw new Error(`redis-server could not start on port ${port}`);
  }
  throw new Error('redis-server could not start on a free port after 5 attempts');
}

export interface ResolvedRedis {
  url: string;
  /** True when this call started a private redis-server. */
  started: boolean;
  /** Stops the server this call started; a no-op for an existing one. */
  stop(): Promise<void>;
}

/**
 * Uses the Redis at `url` (default `redis://127.0.0.1:6379`; scripts pass the REDIS_URL environment variable) if it
 * answers PING, else starts a private redis-server.
 */
export async function resolveRedis(url = 'redis://127.0.0.1:6379'): Promise<ResolvedRedis> {
  if (await pingRedis(url)) return { url, started: false, stop: () => Promise.resolve() };
  const server = await startRedisServer();
  return { url: server.url, started: true, stop: () => server.stop() };
}
