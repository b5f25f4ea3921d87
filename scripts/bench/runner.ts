// Runs one variant in a fresh child process and collects its numbers plus what is visible from outside.
import { spawn } from 'node:child_process';
import { serviceProcessEnv } from '@labelq/dev-services';
import { once } from 'node:events';
import { openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { procCpuMs } from './metrics.ts';
import type { ChildResult, RunReport, VariantSpec } from './protocol.ts';

export interface RunContext {
  /** Folder for spec, result and log files. */
  runDir: string;
  /** Ask the child for a CPU profile of its measured phase (`<runDir>/<name>.cpuprofile`). Default false. */
  cpuProfile?: boolean;
  timeoutSeconds: number;
  /** redis-server pid whose CPU counts as a service cost; undefined when not readable. */
  redisPid: number | undefined;
  /** Counts QueueEvents 'stalled' for the spec's queue; undefined for variants without a queue. */
  stalls?: { count(): number };
}

/** Phase messages a child sends over IPC so the orchestrator can bracket service CPU. */
export type PhaseMessage = { phase: 'start' } | { phase: 'end' };

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

function servicesCpuMs(redisPid: number | undefined): number {
  const own = process.cpuUsage();
  return (own.user + own.system) / 1000 + (redisPid === undefined ? 0 : procCpuMs(redisPid));
}

function tail(path: string, lines = 30): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Spawns `node --import tsx scripts/bench/child.ts <spec>`; its output goes to `<runDir>/<name>.log`. Rejects
 * with the child's error and log tail when it fails or exceeds the time limit.
 */
export async function runVariant(spec: Omit<VariantSpec, 'resultFile'>, ctx: RunContext): Promise<RunReport> {
  const base = spec.name.replace(/[^A-Za-z0-9_.-]+/g, '_');
  const specFile = join(ctx.runDir, `${base}.spec.json`);
  const resultFile = join(ctx.runDir, `${base}.result.json`);
  const logFile = join(ctx.runDir, `${base}.log`);
  const cpuProfileFile = ctx.cpuProfile ? join(ctx.runDir, `${base}.cpuprofile`) : undefined;
  writeFileSync(
    specFile,
    JSON.stringify({ ...spec, resultFile, ...(cpuProfileFile ? { cpuProfileFile } : {}) }),
  );
  const log = openSync(logFile, 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', join('scripts', 'bench', 'child.ts'), specFile], {
    cwd: REPO_ROOT,
    // Same allocator settings as a deployed worker, for every variant alike.
    env: serviceProcessEnv(process.env),
    stdio: ['ignore', log, log, 'ipc'],
  });
  closeSync(log);
  let cpuAtStart: number | undefined;
  let servicesCpu: number | undefined;
  child.on('message', (m: PhaseMessage) => {
    if (m.phase === 'start') cpuAtStart = servicesCpuMs(ctx.redisPid);
    else if (cpuAtStart !== undefined) servicesCpu = servicesCpuMs(ctx.redisPid) - cpuAtStart;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), ctx.timeoutSeconds * 1000);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);

  let parsed: (ChildResult & { error?: undefined }) | { error: string } | undefined;
  try {
    parsed = JSON.parse(readFileSync(resultFile, 'utf8')) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || parsed.error !== undefined || code !== 0) {
    const why = parsed?.error ?? (signal !== null ? `killed by ${signal}` : `exit code ${String(code)}`);
    throw new Error(`variant ${spec.name} failed: ${why}\n--- ${logFile} (tail) ---\n${tail(logFile)}`);
  }
  const result = parsed as ChildResult;
  const queueEventsStalled = ctx.stalls?.count() ?? null;
  return {
    ...result,
    // Stalls the worker saw plus those QueueEvents saw (a stall moved by another worker shows only there).
    stalled: result.stalled === null ? queueEventsStalled : Math.max(result.stalled, queueEventsStalled ?? 0),
    queueEventsStalled,
    servicesCpuMsPerImage:
      servicesCpu === undefined ? null : Math.round((servicesCpu / result.images) * 100) / 100,
  };
}
