// `pnpm bench:redis-scale-real [--jobs N] [--index] [--json]`: what one job costs Redis in the real worker, to
// calibrate `pnpm bench:redis-scale` (whose simulated workers do only BullMQ's part and the open-job release).
// A private redis-server and s3rver, N distinct tiny PNGs, one real worker runtime (the real processor, the real
// NSFW model, the moderation workflow hooks, S3 tags; with --index the results-index outcome stream too, without
// an indexer): Redis CPU (INFO cpu) and commands (INFO commandstats, by command: Lua scripts' inner commands
// included) per job for enqueueing as the API does and for processing; the commands the process's clients sent
// (counted at ioredis's sendCommand, pipelined ones one by one: scripts are one each), and how many connections
// one worker holds. Run it under `flock /tmp/labelq-bench.lock` on shared machines.
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { OpenJobs } from '@labelq/access';
import { loadConfig } from '@labelq/config';
import { DEFAULT_TENANT, JOB_PAYLOAD_VERSION, type ClassifyJob } from '@labelq/contracts';
import { s3rverEnv, s3ClientFor, startRedisServer, startS3rver } from '@labelq/dev-services';
import { createClassifyQueue } from '@labelq/queue';
import { createWorkerRuntime } from '@labelq/worker';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import sharp from 'sharp';
import { machineInfo } from './machine.ts';
import { enqueueAsApi } from './redis-scale-enqueue.ts';
import { commandsPerJob, redisSnapshot, type RedisSnapshot } from './redis-snapshot.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '500' },
    index: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const jobs = Number(values.jobs);
const root = join(import.meta.dirname, '..', '..');
const BUCKET = 'scale-real';
const MODEL = 'nsfw-mobilenet-v2';

// Every ioredis client in this process (BullMQ's included: one ioredis) counts what it sends while `counting`.
const sent: Record<string, number> = {};
let counting = false;
// Called below with the client as `this`, as ioredis does.
// eslint-disable-next-line @typescript-eslint/unbound-method
const send = Redis.prototype.sendCommand;
Redis.prototype.sendCommand = function (this: Redis, command, stream) {
  if (counting) sent[command.name] = (sent[command.name] ?? 0) + 1;
  return send.call(this, command, stream);
};

const dir = await mkdtemp(join(tmpdir(), 'labelq-redis-real-'));
const redisServer = await startRedisServer({ args: ['--maxmemory-policy', 'noeviction', '--save', ''] });
const s3 = await startS3rver({ dir, buckets: [BUCKET] });
const env: Record<string, string> = {
  REDIS_URL: redisServer.url,
  REDIS_PERSISTENCE: 'off',
  QUEUE_NAME: 'scale-real',
  REDIS_KEY_PREFIX: 'scale-real',
  ...s3rverEnv(s3.endpoint, BUCKET),
  MODELS_DIR: join(root, 'models'),
  MODELS: MODEL,
  POOL_THREADS: '1',
  WORKER_HTTP_PORT: '0',
  LOG_LEVEL: 'warn',
  // The outcome stream without an indexer (that would add Postgres, not Redis, work per job).
  ...(values.index ? { DATABASE_URL: 'postgresql://127.0.0.1:5432/unused', INDEXER_ENABLED: 'false' } : {}),
};
const config = loadConfig(env, 2);
const redis = new Redis(redisServer.url);
const queue = createClassifyQueue(config, redis);
const openJobs = new OpenJobs(redis, config.redis.keyPrefix);
const client = s3ClientFor(s3.endpoint);

// Distinct images (distinct bytes, so no result is reused), small so the model is not what is measured.
const payloads: ClassifyJob[] = [];
for (let i = 0; i < jobs; i++) {
  const key = `src/${i}.png`;
  const png = await sharp({
    create: { width: 16, height: 16, channels: 3, background: { r: i % 256, g: (i >> 8) % 256, b: 99 } },
  })
    .png()
    .toBuffer();
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: png, ContentType: 'image/png' }));
  payloads.push({
    v: JOB_PAYLOAD_VERSION,
    tenant: DEFAULT_TENANT,
    id: `img_${(i + 1).toString(16).padStart(32, '0')}`,
    bucket: BUCKET,
    key,
    models: [MODEL],
    purpose: 'tagging',
    origin: 's3',
    submittedAt: new Date().toISOString(),
  });
}

const usedMemory = async () => Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))?.[1] ?? 0);
await redis.config('RESETSTAT');
const m0 = await usedMemory();
const e0 = await redisSnapshot(redis);
await enqueueAsApi(queue, openJobs, config, payloads);
const e1 = await redisSnapshot(redis);
// Paused while the runtime starts, so its start-up traffic (script loads, checks) is not counted per job.
await queue.pause();
const connections = async () => ((await redis.client('LIST')) as string).trim().split('\n').length;
const before = await connections();
const runtime = await createWorkerRuntime(config, { logger: pino({ level: 'warn' }) });
await new Promise((r) => setTimeout(r, 1000));
const workerConnections = (await connections()) - before;
const p0 = await redisSnapshot(redis);
const t0 = performance.now();
// The end is seen from the worker's events in this process: polling Redis would add to what is measured.
let finished = 0;
const allFinished = new Promise<void>((resolve) => {
  const one = () => {
    if (++finished === jobs) resolve();
  };
  runtime.worker.on('completed', one);
  runtime.worker.on('failed', one);
});
counting = true;
await queue.resume();
await allFinished;
counting = false;
const seconds = (performance.now() - t0) / 1000;
const p1 = await redisSnapshot(redis);
// What each finished job leaves in Redis for KEEP_COMPLETED_SECONDS (its hash with the result document, the
// events stream, the metrics), besides the worker's connections.
const retainedBytesPerJob = Math.round(((await usedMemory()) - m0) / jobs);
// Of that, one completed job's hash (payload, options, the result document) and the result document alone;
// the rest is mostly BullMQ's events stream, capped at 10000 entries whatever the rate.
const sampleJob = await queue.getJob(payloads[0]!.id);
const jobHashBytes = Number(
  await redis.call('MEMORY', 'USAGE', `${config.queue.prefix}:${config.queue.name}:${payloads[0]!.id}`),
);
const resultDocumentBytes = JSON.stringify(sampleJob?.returnvalue ?? null).length;
const counts = await queue.getJobCounts('completed', 'failed');
await runtime.close();
await queue.obliterate({ force: true }).catch(() => undefined);
await queue.close();
redis.disconnect();
client.destroy();
await redisServer.stop();
await s3.stop();
await rm(dir, { recursive: true, force: true });

const perJob = (a: RedisSnapshot, b: RedisSnapshot) => ({
  redisCpuUsPerJob: Math.round(((b.cpu - a.cpu) * 1e6) / jobs),
  commandsPerJob: +((b.calls - a.calls) / jobs).toFixed(2),
  byCommand: commandsPerJob(a, b, jobs),
});
const out = {
  machine: machineInfo(),
  date: new Date().toISOString(),
  loadAverage: loadavg().map((l) => +l.toFixed(2)),
  jobs,
  index: values.index,
  completed: counts.completed,
  failed: counts.failed,
  jobsPerSecond: Math.round(jobs / seconds),
  enqueue: perJob(e0, e1),
  process: perJob(p0, p1),
  /** Commands the clients sent while processing (the bench's resume included: one). */
  clientCommandsPerJob: Object.fromEntries(
    Object.entries(sent)
      .map(([cmd, n]) => [cmd, +(n / jobs).toFixed(2)] as const)
      .sort((x, y) => y[1] - x[1]),
  ),
  clientCommandsTotalPerJob: +(Object.values(sent).reduce((x, y) => x + y, 0) / jobs).toFixed(2),
  workerConnections,
  retainedBytesPerJob,
  jobHashBytes,
  resultDocumentBytes,
  keepCompletedSeconds: config.worker.keepCompletedSeconds,
};
if (values.json) process.stdout.write(`${JSON.stringify(out)}\n`);
else process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
