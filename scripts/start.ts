// pnpm start: the API and a worker against the configured Redis and S3 (environment variables, see README),
// as two child processes. Signals are forwarded; when either process exits, the other is stopped and this
// process exits with the first one's code.
import { spawn, type ChildProcess } from 'node:child_process';
import { serviceProcessEnv } from '@labelq/dev-services';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** How long the survivor gets to drain after SIGTERM before SIGKILL, ms (the worker's own is SHUTDOWN_TIMEOUT_MS). */
const KILL_AFTER_MS = 60_000;

const children = new Map<string, ChildProcess>();
let exitCode: number | undefined;

function startService(name: 'api' | 'worker'): void {
  // Children inherit the environment: only packages/config reads it, inside each service.
  // Own process group: Ctrl-C reaches only this process, which forwards exactly one SIGTERM (the worker treats
  // a second signal as "exit now").
  // `node --import tsx` rather than the tsx CLI: the CLI runs the script in a grandchild that signals miss.
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'services', name, 'src', 'main.ts')], {
    cwd: root,
    env: serviceProcessEnv(process.env),
    stdio: 'inherit',
    detached: true,
  });
  children.set(name, child);
  child.on('exit', (code, signal) => {
    children.delete(name);
    process.stderr.write(`start: ${name} exited (${code ?? signal})\n`);
    if (exitCode === undefined) {
      exitCode = code ?? 1;
      stopAll('SIGTERM');
    }
    if (children.size === 0) process.exit(exitCode);
  });
}

function stopAll(signal: NodeJS.Signals): void {
  for (const child of children.values()) child.kill(signal);
  setTimeout(() => {
    for (const child of children.values()) child.kill('SIGKILL');
  }, KILL_AFTER_MS).unref();
}

// First SIGINT/SIGTERM: SIGTERM to both (graceful drain). A second one: SIGKILL (the user insists).
let signalled = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    exitCode ??= 0;
    stopAll(signalled ? 'SIGKILL' : 'SIGTERM');
    signalled = true;
  });
}
// If this process dies anyway, do not leave the services running in their own process groups.
process.on('exit', () => {
  for (const child of children.values()) child.kill('SIGKILL');
});

startService('api');
startService('worker');
