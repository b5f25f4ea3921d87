// `pnpm bench:redis-scale [--workers 1,2,4,8] [--jobs N] [--concurrency C] [--work-ms MS] [--idle-seconds S] [--json]`: how far one
// Redis goes. A private redis-server (nothing else touches it); per step, N worker processes
// (scripts/bench/redis-scale-worker.ts: labelq's BullMQ settings, a trivial model that sleeps --work-ms) drain
// --jobs jobs that were enqueued as the API does (addBulk of 100 with labelq's job options, open-job
// reservations). Measured from Redis itself: CPU seconds (INFO cpu: used_cpu_user + used_cpu_sys of the server)
// and commands (INFO commandstats) per job, for enqueueing and for processing, and the jobs/s reached; then,
// with the queue empty and the workers still connected, what an idle fleet costs Redis per worker and second
// (blocking waits for new jobs, stalled-job checks, lock renewals: the floor a large fleet pays doing nothing).
// Run it under `flock /tmp/labelq-bench.lock` on shared machines.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { OpenJobs } from '@labelq/access';
import { loadConfig } from '@labelq/config';
import { DEFAULT_TENANT, JOB_PAYLOAD_VERSION, type ClassifyJob } from '@labelq/contracts';
import { startRedisServer } from '@labelq/dev-services';
import { createClassifyQueue } from '@labelq/queue';
import { Redis } from 'ioredis';
import { machineInfo } from './machine.ts';
import { enqueueAsApi } from './redis-scale-enqueue.ts';
import { commandsPerJob, redisSnapshot, type RedisSnapshot } from './redis-snapshot.ts';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '1,2,4,8' },
    jobs: { type: 'string', default: '4000' },
    concurrency: { type: 'string', default: '6' },
    'work-ms': { type: 'string', default: '20' },
    'idle-seconds': { type: 'string', default: '10' },
    /** Bytes of the result each job returns (BullMQ keeps it); pnpm bench:redis-scale-real measures the real one. */
    'result-bytes': { type: 'string', default: '1400' },
    /** File each result with the review queue as the real worker does after an NSFW model. */
    moderation: { type: 'boolean', default: true },
    json: { type: 'boolean', default: false },
  },
});
const steps = values.workers.split(',').map(Number);
const jobsPerStep = Number(values.jobs);
const root = join(import.meta.dirname, '..', '..');

const redisServer = await startRedisServer({ args: ['--maxmemory-policy', 'noeviction', '--save', ''] });
const env: Record<string, string> = {
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  REDIS_URL: redisServer.url,
  QUEUE_NAME: 'scale',
  REDIS_KEY_PREFIX: 'scale',
  WORKER_CONCURRENCY: values.concurrency,
  BENCH_WORK_MS: values['work-ms'],
  BENCH_RESULT_BYTES: values['result-bytes'],
  BENCH_MODERATION: values.moderation ? '1' : '0',
  LOG_LEVEL: 'warn',
};
const config = loadConfig(env);
const redis = new Redis(redisServer.url);
const queue = createClassifyQueue(config, redis);
const openJobs = new OpenJobs(redis, config.redis.keyPrefix);

const snapshot = (): Promise<RedisSnapshot> => redisSnapshot(redis);
/** Jobs the step's workers reported finished (they tell on stdout: polling Redis would add to the measure). */
let finished = 0;
let onFinished: () => void = () => undefined;

function spawnWorker(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'scripts', 'bench', 'redis-scale-worker.ts')],
    {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      const text = d.toString();
      if (text.includes('ready')) resolve(child);
      for (const m of text.matchAll(/^finished (\d+)$/gm)) {
        finished += Number(m[1]);
        if (finished >= jobsPerStep) onFinished();
      }
    });
    child.once('exit', (code) => reject(new Error(`worker exited ${code}`)));
  });
}

// Redis's own background cost (serverCron, our INFO calls) with no worker connected: subtracted from idle.
const b0 = await snapshot();
const bt0 = performance.now();
await new Promise((r) => setTimeout(r, 3000));
const baselineCpuPerSecond = ((await snapshot()).cpu - b0.cpu) / ((performance.now() - bt0) / 1000);

const rows = [];
let n = 0;
for (const workers of steps) {
  await queue.obliterate({ force: true }).catch(() => undefined);
  await redis.config('RESETSTAT');
  const jobs: ClassifyJob[] = Array.from({ length: jobsPerStep }, () => {
    n++;
    return {
      v: JOB_PAYLOAD_VERSION,
      tenant: DEFAULT_TENANT,
      id: `img_${n.toString(16).padStart(32, '0')}`,
      bucket: 'bench',
      key: `scale/${n}.jpg`,
      models: ['nsfw-mobilenet-v2'],
      purpose: n % 10 === 0 ? 'moderation' : 'tagging',
      origin: 's3',
      submittedAt: new Date().toISOString(),
    };
  });
  const e0 = await snapshot();
  await enqueueAsApi(queue, openJobs, config, jobs);
  const e1 = await snapshot();
  // Paused while the workers start (one after another on a loaded machine): every job runs inside the window
  // measured, and the start-up traffic stays outside it.
  await queue.pause();
  finished = 0;
  const allFinished = new Promise<void>((resolve) => (onFinished = resolve));
  const children = await Promise.all(Array.from({ length: workers }, () => spawnWorker()));
  await new Promise((r) => setTimeout(r, 500));
  const p0 = await snapshot();
  const t0 = performance.now();
  await queue.resume();
  await allFinished;
  const seconds = (performance.now() - t0) / 1000;
  const p1 = await snapshot();
  const idleSeconds = Number(values['idle-seconds']);
  const i0 = performance.now();
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const i1 = await snapshot();
  const idleWall = (performance.now() - i0) / 1000;
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => once(c, 'exit')));
  const processCpuUs = ((p1.cpu - p0.cpu) * 1e6) / jobsPerStep;
  rows.push({
    workers,
    concurrency: Number(values.concurrency),
    jobs: jobsPerStep,
    jobsPerSecond: Math.round(jobsPerStep / seconds),
    enqueue: {
      redisCpuUsPerJob: Math.round(((e1.cpu - e0.cpu) * 1e6) / jobsPerStep),
      commandsPerJob: +((e1.calls - e0.calls) / jobsPerStep).toFixed(2),
    },
    process: {
      redisCpuUsPerJob: Math.round(processCpuUs),
      commandsPerJob: +((p1.calls - p0.calls) / jobsPerStep).toFixed(2),
      redisCpuShare: +((p1.cpu - p0.cpu) / seconds).toFixed(3),
      byCommand: commandsPerJob(p0, p1, jobsPerStep),
    },
    idle: {
      seconds: +idleWall.toFixed(1),
      redisCpuUsPerWorkerSecond: Math.round(
        (((i1.cpu - p1.cpu) / idleWall - baselineCpuPerSecond) * 1e6) / workers,
      ),
      commandsPerWorkerSecond: +((i1.calls - p1.calls) / idleWall / workers).toFixed(2),
    },
  });
}
await queue.obliterate({ force: true }).catch(() => undefined);
await queue.close();
redis.disconnect();
await redisServer.stop();

const out = {
  machine: machineInfo(),
  loadAverage: loadavg().map((l) => +l.toFixed(2)),
  baselineRedisCpuUsPerSecond: Math.round(baselineCpuPerSecond * 1e6),
  date: new Date().toISOString(),
  workMs: Number(values['work-ms']),
  resultBytes: Number(values['result-bytes']),
  moderation: values.moderation,
  rows,
};
if (values.json) {
  process.stdout.write(`${JSON.stringify(out)}\n`);
} else {
  process.stdout.write(
    'workers  conc  jobs/s  enqueue µs/job  enqueue cmds/job  process µs/job  process cmds/job  redis CPU' +
      '  idle µs/worker/s  idle cmds/worker/s\n',
  );
  for (const r of rows) {
    process.stdout.write(
      `${String(r.workers).padStart(7)}  ${String(r.concurrency).padStart(4)}  ${String(r.jobsPerSecond).padStart(6)}  ` +
        `${String(r.enqueue.redisCpuUsPerJob).padStart(14)}  ${String(r.enqueue.commandsPerJob).padStart(16)}  ` +
        `${String(r.process.redisCpuUsPerJob).padStart(14)}  ${String(r.process.commandsPerJob).padStart(16)}  ` +
        `${(r.process.redisCpuShare * 100).toFixed(0).padStart(8)}%  ` +
        `${String(r.idle.redisCpuUsPerWorkerSecond).padStart(16)}  ${String(r.idle.commandsPerWorkerSecond).padStart(18)}\n`,
    );
  }
}
