// `pnpm bench:batch [--objects N] [--small N] [--rerun N] [--json]`: batches at scale, on a private
// redis-server (so used_memory is ours alone) and an s3rver in a child process.
//
//   1. listing + enqueue: a batch (mode `all`) over a prefix of N tiny objects (default 100,000) and over one of
//      `small` (default 10,000), consumed by a no-op processor (withBatchOutcomes around a function that
//      returns at once): what is measured is the batch role's listing, item pages, windowed enqueue and
//      once-per-item bookkeeping — inference is not the point here. Reported: objects/s from create to
//      completed, and Redis used_memory peak above the idle baseline (sampled every 100 ms): flat in the batch
//      size when the window bounds it.
//   2. fairness: two batches over the `small` prefix at once, consumed by a processor that sleeps 2 ms per job
//      (the queue, not listing, is the bottleneck): their completed counts sampled every second.
//   3. `missing` re-run: a first run over a prefix of `rerun` tiny PNGs (default 2,000) with the real model
//      (nsfw-mobilenet-v2, 2 pool threads), then the same batch again: every object current, no inference.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  BatchStore,
  createBatchRole,
  createControlQueue,
  startBatchRun,
  withBatchOutcomes,
  type BatchSpec,
} from '@labelq/batch';
import { loadConfig, type Config } from '@labelq/config';
import { newBatchId, type StoredJobPayload } from '@labelq/contracts';
import { s3ClientFor, s3rverEnv, startRedisServer } from '@labelq/dev-services';
import { readManifest } from '@labelq/models';
import { createClassifyQueue, createWorkerConnection } from '@labelq/queue';
import { createObjectStore } from '@labelq/storage';
import { createWorkerRuntime } from '@labelq/worker';
import { Worker } from 'bullmq';
import { pino } from 'pino';
import sharp from 'sharp';
import { machineInfo } from './machine.ts';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: '100000' },
    small: { type: 'string', default: '10000' },
    rerun: { type: 'string', default: '2000' },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(values.objects);
const SMALL = Number(values.small);
const RERUN = Number(values.rerun);
const MODEL = 'nsfw-mobilenet-v2';
const log = (msg: string): void => void process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const redisServer = await startRedisServer({
  args: ['--maxmemory-policy', 'noeviction', '--save', '', '--appendonly', 'no'],
});
const dir = await mkdtemp(join(tmpdir(), 'labelq-bench-batch-'));
const s3proc = spawn(
  process.execPath,
  ['--import', 'tsx', join(import.meta.dirname, 'batch-s3rver.ts'), join(dir, 's3'), 'results', 'source'],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
    // s3rver encrypts ListObjectsV2 continuation tokens with a cipher OpenSSL 3 keeps in its legacy provider.
    env: { NODE_OPTIONS: '--openssl-legacy-provider' },
  },
);
const [first] = (await once(createInterface({ input: s3proc.stdout }), 'line')) as [string];
const { endpoint } = JSON.parse(first) as { endpoint: string };
const client = s3ClientFor(endpoint);

const config: Config = loadConfig(
  {
    REDIS_URL: redisServer.url,
    ...s3rverEnv(endpoint, 'results'),
    S3_ALLOWED_BUCKETS: 'results,source',
    S3_WRITE_TAGS: 'false',
    MODELS: MODEL,
    POOL_THREADS: '2',
    LOG_LEVEL: 'silent',
  },
  2,
);
const connection = createWorkerConnection(config.redis.url);
const store = new BatchStore(connection, config.redis.keyPrefix);
const s3 = createObjectStore(config.s3, client);
const classifyQueue = createClassifyQueue(config, connection);
const control = createControlQueue(config, connection);
const manifest = await readManifest(join(config.models.dir, `${MODEL}.json`));
const models = [{ name: manifest.name, version: manifest.version, sha256: manifest.sha256 }];

async function putObjects(
  prefix: string,
  count: number,
  body: (i: number) => Promise<Buffer>,
): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < count) {
        const i = next++;
        await client.send(
          new PutObjectCommand({
            Bucket: 'source',
            Key: `${prefix}${String(i).padStart(7, '0')}.png`,
            Body: await body(i),
          }),
        );
      }
    }),
  );
  return count / ((performance.now() - t0) / 1000);
}

async function usedMemory(): Promise<number> {
  const info = await connection.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

async function create(prefix: string, mode: BatchSpec['mode']): Promise<string> {
  const id = newBatchId();
  const s = await store.create(id, 'default', {
    source: { bucket: 'source', prefix },
    purpose: 'tagging',
    mode,
    dryRun: false,
    models: [MODEL],
  });
  await startBatchRun(control, id, s.gen);
  return id;
}

async function waitDone(id: string, onSample?: () => Promise<void>): Promise<void> {
  for (;;) {
    const s = await store.read(id);
    if (s?.status === 'completed' || s?.status === 'failed') return;
    await onSample?.();
    await sleep(100);
  }
}

const roleDeps = {
  config,
  store,
  s3,
  classifyQueue,
  models,
  policyVersion: () => 'nsfw-2026.11-1',
  logger: pino({ level: 'silent' }),
};
let role = createBatchRole(roleDeps, connection);

/** A consumer that records outcomes like a worker but does no work (or sleeps `ms`). */
const extraConnections: ReturnType<typeof createWorkerConnection>[] = [];
function consumer(ms: number, concurrency: number): Worker<StoredJobPayload> {
  const conn = createWorkerConnection(config.redis.url);
  extraConnections.push(conn);
  return new Worker<StoredJobPayload>(
    config.queue.name,
    withBatchOutcomes(async () => (ms > 0 ? sleep(ms) : undefined), store, pino({ level: 'silent' })),
    { connection: conn, prefix: config.queue.prefix, concurrency },
  );
}

const results: Record<string, unknown> = {
  machine: machineInfo(),
  date: new Date().toISOString(),
  objects: N,
  small: SMALL,
  rerun: RERUN,
};
try {
  const png = await sharp({
    create: { width: 8, height: 8, channels: 3, background: { r: 10, g: 200, b: 30 } },
  })
    .png()
    .toBuffer();
  log(`putting ${SMALL} + ${N} tiny objects`);
  results.putPerSecond = Math.round(await putObjects('small/', SMALL, () => Promise.resolve(png)));
  await putObjects('large/', N, () => Promise.resolve(png));

  // 1. listing + enqueue, no-op consumer.
  const noop = consumer(0, 50);
  const baseline = await usedMemory();
  for (const [name, prefix, count] of [
    ['small', 'small/', SMALL],
    ['large', 'large/', N],
  ] as const) {
    let peak = await usedMemory();
    const t0 = performance.now();
    const id = await create(prefix, 'all');
    await waitDone(id, async () => void (peak = Math.max(peak, await usedMemory())));
    const seconds = (performance.now() - t0) / 1000;
    const s = (await store.read(id))!;
    results[`listEnqueue_${name}`] = {
      objects: count,
      completed: s.completed,
      status: s.status,
      ...(s.error !== undefined ? { error: s.error } : {}),
      seconds: Math.round(seconds * 10) / 10,
      objectsPerSecond: Math.round(count / seconds),
      redisPeakAboveBaselineMiB: Math.round(((peak - baseline) / 1024 / 1024) * 100) / 100,
    };
    log(`${name}: ${JSON.stringify(results[`listEnqueue_${name}`])}`);
  }
  await noop.close();

  // 2. fairness: a window (100) smaller than each batch (the default 1000 would hold a whole 1,000-object batch,
  //    and the second batch would simply queue behind it).
  await role.close();
  const fairRole = createBatchRole(
    { ...roleDeps, config: { ...config, batch: { ...config.batch, window: 100 } } },
    connection,
  );
  const slow = consumer(2, 8);
  const a = await create('small/', 'all');
  const b = await create('small/', 'all');
  const samples: [number, number][] = [];
  for (;;) {
    const [sa, sb] = [(await store.read(a))!, (await store.read(b))!];
    samples.push([sa.completed, sb.completed]);
    if (sa.status === 'completed' && sb.status === 'completed') break;
    await sleep(1000);
  }
  await slow.close();
  await fairRole.close();
  role = createBatchRole(roleDeps, connection);
  const whileBoth = samples.filter(([x, y]) => x < SMALL && y < SMALL && x + y > 0);
  const maxShareGap = Math.max(0, ...whileBoth.map(([x, y]) => Math.abs(x - y) / Math.max(x, y)));
  results.fairness = {
    batches: 2,
    objectsEach: SMALL,
    samples: samples.length,
    maxRelativeGapWhileBothRan: Math.round(maxShareGap * 1000) / 1000,
    lastSampleBeforeEnd: whileBoth.at(-1),
  };
  log(`fairness: ${JSON.stringify(results.fairness)}`);

  // 3. missing re-run with the real model.
  log(`putting ${RERUN} distinct tiny PNGs; first run with inference`);
  await putObjects('rerun/', RERUN, (i) =>
    sharp({
      create: { width: 8, height: 8, channels: 3, background: { r: i % 256, g: (i >> 8) % 256, b: 77 } },
    })
      .png()
      .toBuffer(),
  );
  const worker = await createWorkerRuntime(
    { ...config, batch: { ...config.batch, runners: 0 } },
    { logger: pino({ level: 'silent' }), store: s3 },
  );
  const t1 = performance.now();
  const firstId = await create('rerun/', 'missing');
  await waitDone(firstId);
  const firstSeconds = (performance.now() - t1) / 1000;
  const t2 = performance.now();
  const againId = await create('rerun/', 'missing');
  await waitDone(againId);
  const againSeconds = (performance.now() - t2) / 1000;
  const again = (await store.read(againId))!;
  await worker.close();
  results.missingRerun = {
    objects: RERUN,
    firstRunSeconds: Math.round(firstSeconds * 10) / 10,
    rerunSeconds: Math.round(againSeconds * 100) / 100,
    speedup: Math.round((firstSeconds / againSeconds) * 10) / 10,
    rerunSkippedCurrent: again.skipped,
    rerunQueued: again.queued,
  };
  log(`missing re-run: ${JSON.stringify(results.missingRerun)}`);
} finally {
  await role.close();
  await classifyQueue.close();
  await control.close();
  connection.disconnect();
  for (const c of extraConnections) c.disconnect();
  client.destroy();
  s3proc.kill('SIGTERM');
  await once(s3proc, 'exit');
  await redisServer.stop();
  await rm(dir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify(results, null, values.json ? 0 : 2)}\n`);
