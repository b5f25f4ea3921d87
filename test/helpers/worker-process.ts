import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { repoRoot } from '../fixtures/index.ts';

export interface WorkerProcess {
  child: ChildProcess;
  /** Exit code, or the signal name. */
  readonly exited: Promise<number | string>;
  output(): string;
  /** Resolves when the output matches `pattern`; rejects if the process exits first or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGKILL if still running (cleanup). */
  kill(): Promise<void>;
}

/**
 * Spawns `node --import tsx services/worker/src/<entry>` (default `main.ts`, the worker; `batch-main.ts` is the
 * batch role alone) with exactly `env` (plus PATH, HOME, NODE_OPTIONS).
 */
export function spawnWorker(env: Record<string, string>, entry = 'main.ts'): WorkerProcess {
  const inherited = Object.fromEntries(
    ['PATH', 'HOME', 'NODE_OPTIONS', 'TMPDIR'].flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : [])),
  );
  // node with tsx's loader, not the tsx CLI: the CLI runs the script in a grandchild, and a SIGKILL to the
  // CLI would leave the real worker running.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'services', 'worker', 'src', entry)],
    {
      cwd: repoRoot,
      env: { ...inherited, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const l of listeners) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = once(child, 'exit').then(([code, signal]) => (code as number | null) ?? String(signal));
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    exited,
    output: () => out,
    waitFor: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(out)) {
            cleanup();
            resolve();
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern} in worker output:\n${out.slice(-3000)}`));
        }, timeoutMs);
        void exited.then((code) => {
          if (!pattern.test(out)) {
            cleanup();
            reject(new Error(`worker exited (${code}) before ${pattern}:\n${out.slice(-3000)}`));
          }
        });
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      }),
    kill: async () => {
      if (done) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
