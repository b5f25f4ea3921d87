// `pnpm bench:startup [--runs N] [--models a,b] [--json]`: start-up time and memory of the services, run from
// TypeScript through tsx (`node --import tsx services/<name>/src/main.ts`, how they ran before `pnpm build`
// emitted JavaScript) against the compiled build (`node services/<name>/dist/main.js`, what the Docker image and
// `pnpm start` run). Run `pnpm build` first.
//
// One start = spawn until the service logs its ready line ("worker started": config loaded, Redis and the bucket
// checked, every pool thread has its onnxruntime sessions; "api listening"), read from its JSON log. At that
// moment the process's RSS and CPU time (user + system, all threads) are read from /proc, and RSS once more after
// 1 s idle; then SIGTERM. Each (service, mode) gets one unmeasured warm-up start (disk cache, tsx's transform
// cache); modes alternate run by run. `source-cold` gives tsx a fresh TMPDIR each start, so its transform cache
// is empty as in a new container. Reported: the median of `--runs` starts (default 5) and, for start-up time on a
// shared machine, the fastest one.
//
// Services: Redis at REDIS_URL, else 127.0.0.1:6379, else a private redis-server; an s3rver in this process
// (idle while the services start); a unique queue, removed at the end.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveRedis, s3rverEnv, startS3rver } from '@labelq/dev-services';
import { machineInfo } from './machine.ts';
import { procCpuMs, procRss } from './metrics.ts';
import { removeQueue } from './services.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const MB = 1024 * 1024;
const SERVICES = { worker: 'worker started', api: 'api listening' } as const;
type Service = keyof typeof SERVICES;
const MODES = ['source', 'source-cold', 'compiled'] as const;
type Mode = (typeof MODES)[number];

interface Start {
  ms: number;
  rssMb: number;
  idleRssMb: number;
  cpuMs: number;
}

function command(service: Service, mode: Mode): string[] {
  return mode === 'compiled'
    ? [join(root, 'services', service, 'dist', 'main.js')]
    : ['--import', 'tsx', join(root, 'services', service, 'src', 'main.ts')];
}

/** One start: spawn, wait for the ready line, measure, SIGTERM, wait for the exit. */
async function startOnce(service: Service, mode: Mode, env: Record<string, string>): Promise<Start> {
  const tmp = mode === 'source-cold' ? await mkdtemp(join(tmpdir(), 'labelq-startup-')) : undefined;
  const t0 = performance.now();
  const child = spawn(process.execPath, command(service, mode), {
    cwd: root,
    env: { ...env, ...(tmp ? { TMPDIR: tmp } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    let out = '';
    const ms = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${service} (${mode}): no ready line in 60 s`)),
        60_000,
      );
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      let buffered = '';
      child.stdout.on('data', (d: Buffer) => {
        const now = performance.now();
        buffered += d.toString();
        out += d.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          let msg: unknown;
          try {
            msg = (JSON.parse(line) as { msg?: unknown }).msg;
          } catch {
            continue;
          }
          if (msg === SERVICES[service]) {
            clearTimeout(timer);
            resolve(now - t0);
          }
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${service} (${mode}) exited before its ready line:\n${out.slice(-3000)}`));
      });
    });
    const pid = child.pid!;
    const rssMb = procRss(pid) / MB;
    const cpuMs = procCpuMs(pid);
    await new Promise((r) => setTimeout(r, 1000));
    return { ms, rssMb, idleRssMb: procRss(pid) / MB, cpuMs };
  } finally {
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killer);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    models: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write('usage: pnpm bench:startup [--runs N] [--models a,b] [--json]\n');
  process.exit(0);
}
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs must be a positive integer, got ${values.runs}`);
const missing = (Object.keys(SERVICES) as Service[])
  .map((s) => join(root, 'services', s, 'dist', 'main.js'))
  .filter((f) => !existsSync(f));
if (missing.length > 0) {
  process.stderr.write(`startup: ${missing.join(', ')} missing: run \`pnpm build\` first\n`);
  process.exit(1);
}

const redis = await resolveRedis(process.env.REDIS_URL);
const s3Dir = await mkdtemp(join(tmpdir(), 'labelq-startup-s3-'));
const bucket = 'labelq-startup';
const s3 = await startS3rver({ dir: s3Dir, buckets: [bucket] });
const queueName = `labelq-startup-${Date.now().toString(36)}`;
const env: Record<string, string> = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  // As in production (infra/Dockerfile, pnpm start).
  MALLOC_ARENA_MAX: '2',
  LOG_LEVEL: 'info',
  REDIS_URL: redis.url,
  QUEUE_NAME: queueName,
  ...s3rverEnv(s3.endpoint, bucket),
  MODELS_DIR: join(root, 'models'),
  API_HOST: '127.0.0.1',
  API_PORT: '0',
  WORKER_HTTP_PORT: '0',
  ...(values.models ? { MODELS: values.models } : {}),
};

const results: Record<string, Start[]> = {};
try {
  for (const service of Object.keys(SERVICES) as Service[]) {
    for (const mode of MODES) {
      process.stderr.write(`[startup] ${service} ${mode}: warm-up\n`);
      await startOnce(service, mode, env);
    }
    for (let i = 0; i < runs; i++) {
      // Rotate the order so no mode always follows the same one.
      for (const mode of [...MODES.slice(i % MODES.length), ...MODES.slice(0, i % MODES.length)]) {
        const r = await startOnce(service, mode, env);
        (results[`${service} ${mode}`] ??= []).push(r);
        process.stderr.write(
          `[startup] ${service} ${mode} #${i + 1}: ${r.ms.toFixed(0)} ms, ${r.rssMb.toFixed(0)} MB RSS\n`,
        );
      }
    }
  }
} finally {
  await removeQueue(redis.url, queueName).catch(() => undefined);
  await s3.stop();
  await rm(s3Dir, { recursive: true, force: true });
  await redis.stop();
}

const rows = Object.entries(results).map(([name, starts]) => {
  const [service, mode] = name.split(' ') as [Service, Mode];
  return {
    service,
    mode,
    runs: starts.length,
    startupMs: Math.round(median(starts.map((s) => s.ms))),
    fastestMs: Math.round(Math.min(...starts.map((s) => s.ms))),
    cpuMs: Math.round(median(starts.map((s) => s.cpuMs))),
    rssMb: Math.round(median(starts.map((s) => s.rssMb))),
    idleRssMb: Math.round(median(starts.map((s) => s.idleRssMb))),
  };
});
const machine = machineInfo();
if (values.json) {
  process.stdout.write(
    `${JSON.stringify({ date: new Date().toISOString(), machine, models: values.models ?? 'all', rows })}\n`,
  );
} else {
  const m = machine;
  process.stdout.write(
    `${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, Node ${m.node}, ${m.os}; models: ${values.models ?? 'all'}; ` +
      `median of ${runs}\n\n` +
      `| service | mode | start-up ms | fastest ms | CPU ms | RSS MB at ready | RSS MB 1 s later |\n` +
      `| --- | --- | ---: | ---: | ---: | ---: | ---: |\n` +
      rows
        .map(
          (r) =>
            `| ${r.service} | ${r.mode} | ${r.startupMs} | ${r.fastestMs} | ${r.cpuMs} | ${r.rssMb} | ${r.idleRssMb} |`,
        )
        .join('\n') +
      '\n',
  );
}
