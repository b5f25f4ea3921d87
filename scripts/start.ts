// pnpm start: the API and a worker against the configured Redis and S3 (environment variables, see README),
// as two child processes. Signals are forwarded; when either process exits, the other is stopped and this
// process exits with the first one's code.
//
// Production path: `pnpm build` compiles this file to dist/start.js (what `pnpm start` runs) and the services to
// services/<name>/dist/main.js (what it spawns): no TypeScript loader and no dev-only package at run time.
// Imports are node: built-ins only (scripts/build.ts fails the build otherwise; .ci/run checks this file).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// scripts/start.ts and its build output dist/start.js are both one level below the root.
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** How long the survivor gets to drain after SIGTERM before SIGKILL, ms (the worker's own is SHUTDOWN_TIMEOUT_MS). */
const KILL_AFTER_MS = 60_000;

const children = new Map<string, ChildProcess>();
let exitCode: number | undefined;

const SERVICES = ['api', 'worker'] as const;
const entry = (name: (typeof SERVICES)[number]): string => join(root, 'services', name, 'dist', 'main.js');

/**
 * The services' environment: this one plus MALLOC_ARENA_MAX=2 unless set (glibc's per-thread malloc arenas cost
 * the worker ~55 MB of RSS for nothing, see docs/benchmarks.md; infra/Dockerfile and the dev tools'
 * serviceProcessEnv in @labelq/dev-services set the same).
 */
function serviceEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { MALLOC_ARENA_MAX: '2', ...base };
}

function startService(name: (typeof SERVICES)[number]): void {
  // Children inherit the environment: only packages/config reads it, inside each service.
  // Own process group: Ctrl-C reaches only this process, which forwards exactly one SIGTERM (the worker treats
  // a second signal as "exit now").
  const child = spawn(process.execPath, [entry(name)], {
    cwd: root,
    env: serviceEnv(process.env),
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

const missing = SERVICES.filter((name) => !existsSync(entry(name)));
if (missing.length > 0) {
  process.stderr.write(`start: ${missing.map(entry).join(', ')} missing: run \`pnpm build\` first\n`);
  process.exit(1);
}
for (const name of SERVICES) startService(name);
