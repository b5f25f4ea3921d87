// labelq services as child processes for the reliability benches (soak, upload flood): spawned with tsx's loader
// (node --import tsx, so a signal reaches the service itself), killed when the bench exits however it exits,
// and measured from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const repoRoot = join(import.meta.dirname, '..', '..');

// Every process spawned here dies with the bench, also when the bench throws (no orphaned API or worker).
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Where services' logs (stdout) go: BENCH_LOG_DIR/<name>-<pid>.log when set, else nowhere. */
const logDir = process.env.BENCH_LOG_DIR;

/** Starts `services/<name>/src/main.ts` with exactly `env` (plus PATH, HOME and MALLOC_ARENA_MAX=2). */
export function spawnService(name: 'api' | 'worker', env: Record<string, string>): ChildProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'services', name, 'src', 'main.ts')],
    {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', MALLOC_ARENA_MAX: '2', ...env },
      stdio: ['ignore', logDir === undefined ? 'ignore' : 'pipe', 'inherit'],
    },
  );
  if (logDir !== undefined) child.stdout?.pipe(createWriteStream(join(logDir, `${name}-${child.pid}.log`)));
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Polls `<base>/readyz` until it answers 200; throws after `timeoutMs`. */
export async function waitReady(base: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${base} did not become ready in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** VmRSS (or VmHWM, the peak so far) of a process in MB; null when it is gone. */
export async function rssMb(
  pid: number | undefined,
  field: 'VmRSS' | 'VmHWM' = 'VmRSS',
): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Math.round(Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1]) / 1024);
  } catch {
    return null;
  }
}
