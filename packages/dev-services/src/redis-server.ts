import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { freePort } from './free-port.ts';
import { pingRedis } from './redis-ping.ts';

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

/**
 * The watchdog shell: runs redis-server, prints its pid, and kills it when our stdin pipe closes, i.e. when
 * this Node process exits for any reason (SIGKILL included), so a test run never leaks Redis servers.
 * Background jobs get /dev/null as stdin in a non-interactive shell, hence the copy to fd 3.
 */
const WATCHDOG = [
  'exec 3<&0',
  'redis-server "$@" 1>&2 & r=$!',
  'echo "$r"',
  '(read _ <&3; kill -9 "$r" 2>/dev/null) & w=$!',
  'wait "$r"; c=$?',
  'kill "$w" 2>/dev/null',
  'exit "$c"',
].join('\n');

let checkedBinary = false;
function assertRedisInstalled(): void {
  if (checkedBinary) return;
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  if (probe.error !== undefined || probe.status !== 0) throw new Error(INSTALL_HINT);
  checkedBinary = true;
}

function readPid(child: ChildProcess): Promise<number> {
  // A plain listener, not `for await`: ending an async iterator destroys the stream.
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      const newline = text.indexOf('\n');
      if (newline < 0) return;
      child.stdout?.off('data', onData);
      resolve(Number(text.slice(0, newline).trim()));
    };
    child.stdout?.on('data', onData);
    child.once('exit', () => reject(new Error('redis-server watchdog exited before reporting a pid')));
  });
}

async function startOnce(port: number, options: StartRedisOptions): Promise<RedisServerHandle | undefined> {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    ...(options.args ?? []),
  ];
  // Own process group: a terminal's Ctrl-C reaches the demo or `pnpm serve`, which drain their worker against
  // this Redis before stopping it; the watchdog still kills it when this process exits.
  const child = spawn('sh', ['-c', WATCHDOG, 'sh', ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  let stderr = '';
  // redis-server logs to stderr (see WATCHDOG); keep the tail for error messages.
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = once(child, 'exit').then(() => undefined);
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const pid = await readPid(child);
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  while (!(await pingRedis(url, 500))) {
    if (hasExited) return undefined; // most likely the port was taken: the caller retries
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer PING in time: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const kill = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (hasExited) return;
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
    await exited;
  };
  const stop = async (): Promise<void> => {
    if (hasExited) return;
    const escalate = setTimeout(() => void kill('SIGKILL'), 5000);
    await kill('SIGTERM');
    clearTimeout(escalate);
  };
  // Neither the watchdog nor its pipes keep the event loop alive: our exit is what stops redis.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr])
    (stream as unknown as { unref?: () => void })?.unref?.();
  return { url, port, pid, exited, stop, kill };
}

/**
 * Spawns `redis-server --port P --save '' --appendonly no` on 127.0.0.1 and waits until it answers PING.
 * The server dies with this process (see WATCHDOG). Throws with the apt install command when redis-server is
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
