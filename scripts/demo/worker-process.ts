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
  /**
   * Its stdout and stderr are also copied here, whole lines at a time so they never split another writer's
   * lines (e.g. `process.stderr`, shared with the parent's own logs). Default: not copied.
   */
  output?: NodeJS.WritableStream;
}

const TAIL_BYTES = 8192;

/** Starts `services/<name>/src/main.ts` with tsx and the given environment (how its Config is built). */
export function spawnService(name: string, options: SpawnServiceOptions): ServiceProcess {
  const entry = join(options.root, 'services', name, 'src', 'main.ts');
  const inherited = Object.fromEntries(
    ['PATH', 'HOME', 'NODE_OPTIONS', 'TMPDIR'].flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : [])),
  );
  // `node --import tsx` rather than the tsx CLI: the CLI runs the script in a grandchild that SIGKILL misses.
  // Own process group: a terminal's Ctrl-C reaches only the parent, which stops the child with exactly one
  // SIGTERM (the worker treats a second signal as "exit now", which would cut its drain short).
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: options.root,
    env: serviceProcessEnv({ ...inherited, ...options.env }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  // Detached, it would outlive a parent that exits without stopping it (process.exit on a second Ctrl-C).
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.on('exit', killOnExit);
  let tail = '';
  const log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  const out = options.output;
  const partial = { stdout: '', stderr: '' };
  const onData = (stream: keyof typeof partial) => (text: string) => {
    log?.write(text);
    tail = (tail + text).slice(-TAIL_BYTES);
    if (out === undefined) return;
    const lines = partial[stream] + text;
    const end = lines.lastIndexOf('\n') + 1;
    if (end > 0) out.write(lines.slice(0, end));
    partial[stream] = lines.slice(end);
  };
  // Decoded as UTF-8 by the streams, so a character split across chunks stays whole.
  child.stdout?.setEncoding('utf8').on('data', onData('stdout'));
  child.stderr?.setEncoding('utf8').on('data', onData('stderr'));
  // 'close' (its pipes are drained), not 'exit', for the end of the output: data can follow 'exit'.
  child.once('close', () => {
    log?.end();
    for (const rest of Object.values(partial)) if (rest !== '') out?.write(`${rest}\n`);
  });
  const exited = once(child, 'exit').then(([code, signal]) => {
    process.off('exit', killOnExit);
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
