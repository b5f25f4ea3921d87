import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { serviceProcessEnv } from '@labelq/dev-services';

/** A service (`services/<name>/src/main.ts`) running as a tsx child process. */
export interface ServiceProcess {
  child: ChildProcess;
  /** Resolves with the exit code (or signal name) when the process ends, for any reason. */
  readonly exited: Promise<number | string>;
  /** The last few KiB of its output, for error messages. */
  tail(): string;
  /** SIGTERM, then SIGKILL after `graceMs` (default 15000); resolves once it has exited. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnServiceOptions {
  /** Repository root (tsx resolves from its node_modules). */
  root: string;
  /** Environment of the child; the parent's is not inherited beyond PATH, HOME and NODE_OPTIONS. */
  env: Record<string, string>;
  /** File its stdout and stderr are appended to. Default: not kept (only the tail). */
  logFile?: string;
}

const TAIL_BYTES = 8192;

/** Starts `services/<name>/src/main.ts` with tsx and the given environment (how its Config is built). */
export function spawnService(name: string, options: SpawnServiceOptions): ServiceProcess {
  const entry = join(options.root, 'services', name, 'src', 'main.ts');
  const inherited = Object.fromEntries(
    ['PATH', 'HOME', 'NODE_OPTIONS', 'TMPDIR'].flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : [])),
  );
  // `node --import tsx` rather than the tsx CLI: the CLI runs the script in a grandchild that SIGKILL misses.
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: options.root,
    env: serviceProcessEnv({ ...inherited, ...options.env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  const onData = (chunk: Buffer): void => {
    log?.write(chunk);
    tail = (tail + chunk.toString()).slice(-TAIL_BYTES);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = once(child, 'exit').then(([code, signal]) => {
    log?.end();
    return (code as number | null) ?? String(signal);
  });
  let stopping: Promise<void> | undefined;
  return {
    child,
    exited,
    tail: () => tail,
    stop: (graceMs = 15_000) =>
      (stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      })()),
  };
}
