// A server process (redis-server, postgres) started for the embedded stack or a test, that dies with us.
import { spawn } from 'node:child_process';
import { once } from 'node:events';

/**
 * The watchdog shell: runs the command, prints its pid, and kills it when our stdin pipe closes, i.e. when this
 * Node process exits for any reason (SIGKILL included), so a test run never leaks servers. Background jobs get
 * /dev/null as stdin in a non-interactive shell, hence the copy to fd 3. The command's stdout goes to stderr so
 * that our stdout carries only the pid.
 */
const WATCHDOG = [
  'exec 3<&0',
  '"$@" 1>&2 & r=$!',
  'echo "$r"',
  '(read _ <&3; kill -9 "$r" 2>/dev/null) & w=$!',
  'wait "$r"; c=$?',
  'kill "$w" 2>/dev/null',
  'exit "$c"',
].join('\n');

export interface SupervisedSpec {
  /** Program and arguments. */
  command: string[];
  /** What the server is called in error messages. */
  name: string;
  /** Resolves true once the server answers (checked every `pollMs` until `startTimeoutMs`). */
  ready: () => Promise<boolean>;
  startTimeoutMs: number;
  pollMs: number;
  /** Whether an exit during start-up (given its stderr tail) means "port taken": start() answers undefined. */
  portTaken: (stderr: string) => boolean;
  /** Signal of a graceful stop, and how long before it escalates to SIGKILL. */
  stopSignal: NodeJS.Signals;
  stopEscalateMs: number;
  /** Run as this user (a root caller runs postgres as `postgres`). Default: ours. */
  user?: { uid: number; gid: number } | undefined;
}

export interface SupervisedProcess {
  /** PID of the server itself (not its watchdog shell). */
  pid: number;
  /** Resolves when the server has exited (for any reason). */
  readonly exited: Promise<void>;
  /** Graceful stop, SIGKILL after the escalation delay; waits for the exit. Idempotent. */
  stop(): Promise<void>;
  /** Sends `signal` (default: the stop signal; SIGKILL to simulate a crash) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts the server under the watchdog and waits until `ready()`. Answers undefined when it exited at start-up
 * because its port was taken (the caller retries on another port); throws on any other failure.
 */
export async function startSupervised(spec: SupervisedSpec): Promise<SupervisedProcess | undefined> {
  // Own process group: a terminal's Ctrl-C reaches the demo or `pnpm serve`, which drain their worker against
  // this server before stopping it; the watchdog still kills it when this process exits.
  const child = spawn('sh', ['-c', WATCHDOG, 'sh', ...spec.command], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    ...(spec.user ?? {}),
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = once(child, 'exit').then(() => undefined);
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  // A plain listener, not `for await`: ending an async iterator destroys the stream.
  const pid = await new Promise<number>((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      const newline = text.indexOf('\n');
      if (newline < 0) return;
      child.stdout?.off('data', onData);
      resolve(Number(text.slice(0, newline).trim()));
    };
    child.stdout?.on('data', onData);
    child.once('exit', () => reject(new Error(`${spec.name} exited at start: ${stderr}`)));
  });
  const deadline = Date.now() + spec.startTimeoutMs;
  while (!(await spec.ready())) {
    if (hasExited) {
      if (spec.portTaken(stderr)) return undefined;
      throw new Error(`${spec.name} exited at start: ${stderr}`);
    }
    if (Date.now() > deadline) {
      // The server itself, not its watchdog shell: killing the shell would leave the server running.
      process.kill(pid, 'SIGKILL');
      throw new Error(`${spec.name} did not answer in time: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, spec.pollMs));
  }
  const kill = async (signal: NodeJS.Signals = spec.stopSignal): Promise<void> => {
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
    const escalate = setTimeout(() => void kill('SIGKILL'), spec.stopEscalateMs);
    await kill(spec.stopSignal);
    clearTimeout(escalate);
  };
  // Neither the watchdog nor its pipes keep the event loop alive: our exit is what stops the server.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr])
    (stream as unknown as { unref?: () => void })?.unref?.();
  return { pid, exited, stop, kill };
}
