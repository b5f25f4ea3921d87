// pnpm start: the API and a worker against the configured Redis and S3 (environment variables, see README),
// as two child processes. Signals are forwarded; when either process exits, the other is stopped and this
// process exits with the first one's code.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
/** How long the survivor gets to drain after SIGTERM before SIGKILL, ms (the worker's own is SHUTDOWN_TIMEOUT_MS). */
const KILL_AFTER_MS = 60_000;

const children = new Map<string, ChildProcess>();
let exitCode: number | undefined;

function startService(name: 'api' | 'worker'): void {
  // Children inherit the environment: only packages/config reads it, inside each service.
  const child = spawn(tsx, [join(root, 'services', name, 'src', 'main.ts')], { cwd: root, stdio: 'inherit' });
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

// Both become SIGTERM (the services' graceful drain). Ctrl-C also reaches the children directly (same process
// group); they treat a repeated signal as one.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    exitCode ??= 0;
    stopAll('SIGTERM');
  });
}

startService('api');
startService('worker');
