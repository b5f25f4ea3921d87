// Soak (issue #15): mixed jobs (S3 keys in bulk and uploads, 1% poison) through the API process into worker
// processes, while a worker is killed with SIGKILL every KILL_EVERY_MS and Redis (AOF) is killed and restarted
// once, midway. At the end: completed + failed == accepted, one job and one result document per id (no
// duplicates), poison failed with its reason, RSS of the worker(s) and the API at start/middle/end, Redis memory.
//
//   flock /tmp/labelq-bench.lock pnpm exec tsx scripts/bench/soak.ts            # SOAK_JOBS=20000 by default
//   SOAK_JOBS=3000 KILL_EVERY_MS=60000 flock /tmp/labelq-bench.lock pnpm exec tsx scripts/bench/soak.ts
//
// Prints one JSON summary on stdout; exits 1 when an invariant fails. Everything runs on loopback: a private
// redis-server (AOF, fsync always), s3rver, `services/api/src/main.ts` and `services/worker/src/main.ts`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { createClassifyQueue } from '@labelq/queue';
import { loadConfig } from '@labelq/config';
import {
  freePort,
  S3RVER_CREDENTIALS,
  s3ClientFor,
  startRedisServer,
  startS3rver,
} from '@labelq/dev-services';
import { Redis } from 'ioredis';
import { readFileSync } from 'node:fs';

const root = join(import.meta.dirname, '..', '..');
const JOBS = Number(process.env.SOAK_JOBS ?? 20_000);
const KILL_EVERY_MS = Number(process.env.KILL_EVERY_MS ?? 120_000);
const WORKERS = Number(process.env.SOAK_WORKERS ?? 1);
const UPLOAD_SHARE = 0.2;
const POISON_SHARE = 0.01;
const BUCKET = 'labelq-soak';
const photos = ['astronaut', 'camera', 'chelsea', 'coffee', 'rocket'].map((n) =>
  readFileSync(join(root, 'test', 'fixtures', 'photos', `${n}.jpg`)),
);
const log = (msg: string): void => void process.stderr.write(`[soak ${new Date().toISOString()}] ${msg}\n`);

async function rssMb(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024);
  } catch {
    return null;
  }
}

function spawnService(name: 'api' | 'worker', env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'services', name, 'src', 'main.ts')], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', MALLOC_ARENA_MAX: '2', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return child;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'labelq-soak-'));
  const redisArgs = [
    '--dir',
    dir,
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
    '--maxmemory-policy',
    'noeviction',
  ];
  let redis = await startRedisServer({ args: redisArgs });
  const s3 = await startS3rver({ dir: join(dir, 's3'), buckets: [BUCKET] });
  const s3Client = s3ClientFor(s3.endpoint);
  const apiPort = await freePort();
  const env: Record<string, string> = {
    LOG_LEVEL: 'warn',
    REDIS_URL: redis.url,
    QUEUE_NAME: 'soak',
    S3_ENDPOINT: s3.endpoint,
    S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    S3_BUCKET: BUCKET,
    S3_CHECKSUMS: 'WHEN_REQUIRED',
    MODELS_DIR: join(root, 'models'),
    MODELS: 'nsfw-mobilenet-v2',
    AUTH_DISABLED: 'true',
    API_HOST: '127.0.0.1',
    API_PORT: String(apiPort),
    WORKER_HTTP_PORT: '0',
    BATCH_RUNNERS: '0',
    LOCK_DURATION_MS: '5000',
    JOB_BACKOFF_MS: '500',
    MAX_STALLED_COUNT: '3',
    NODE_OPTIONS: '--openssl-legacy-provider',
  };
  const config = loadConfig(env, 2);
  const api = spawnService('api', env);
  const base = `http://127.0.0.1:${apiPort}`;
  for (let i = 0; ; i++) {
    const ok = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (i > 200) throw new Error('API did not become ready');
    await new Promise((r) => setTimeout(r, 250));
  }
  const workers: ChildProcess[] = Array.from({ length: WORKERS }, () => spawnService('worker', env));
  const samples: Record<string, unknown>[] = [];
  const redisClient = (): Redis => new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: false });
  const sample = async (at: string): Promise<void> => {
    const r = redisClient();
    const info = await r.info('memory').catch(() => '');
    r.disconnect();
    samples.push({
      at,
      workerRssMb: await Promise.all(workers.map((w) => rssMb(w.pid))),
      apiRssMb: await rssMb(api.pid),
      redisUsedMemory: /used_memory_human:(\S+)/.exec(info)?.[1] ?? null,
    });
  };

  // Sources: keys for the S3 share (1% of them garbage: poison), bytes for the upload share.
  const uploads = Math.round(JOBS * UPLOAD_SHARE);
  const keyJobs = JOBS - uploads;
  log(`putting ${keyJobs} source objects`);
  const keys: string[] = [];
  for (let i = 0; i < keyJobs; i++) {
    const poison = i % Math.round(1 / POISON_SHARE) === 0;
    const key = `src/${i}.jpg`;
    const body = poison ? Buffer.from(`not an image ${i}`) : photos[i % photos.length]!;
    await s3Client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    keys.push(key);
  }
  await sample('start');
  const t0 = Date.now();
  const accepted = new Set<string>();
  const poisonIds = new Set<string>();
  let refusedBusy = 0;
  let submitErrors = 0;

  let killing = true;
  let kills = 0;
  const killer = (async () => {
    while (killing) {
      await new Promise((r) => setTimeout(r, KILL_EVERY_MS));
      if (!killing) break;
      const i = kills++ % workers.length;
      workers[i]!.kill('SIGKILL');
      log(`killed worker ${workers[i]!.pid} (kill ${kills})`);
      workers[i] = spawnService('worker', env);
    }
  })();

  const submitKeys = async (batch: string[]): Promise<void> => {
    for (;;) {
      const res = await fetch(`${base}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(batch.map((key) => ({ key }))),
      }).catch(() => undefined);
      if (res?.status === 202) {
        const body = (await res.json()) as { jobs: { id: string }[] };
        body.jobs.forEach((j, i) => {
          accepted.add(j.id);
          if (/^src\/(\d+)\.jpg$/.test(batch[i]!) && Number(batch[i]!.slice(4, -4)) % 100 === 0)
            poisonIds.add(j.id);
        });
        return;
      }
      submitErrors++;
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  const upload = async (i: number): Promise<void> => {
    const body = Buffer.concat([photos[i % photos.length]!, Buffer.from(`#soak${i}`)]);
    for (;;) {
      const res = await fetch(`${base}/v1/images`, {
        method: 'POST',
        headers: { 'content-type': 'image/jpeg' },
        body,
      }).catch(() => undefined);
      if (res?.status === 202) {
        accepted.add(((await res.json()) as { id: string }).id);
        return;
      }
      if (res?.status === 503) refusedBusy++;
      else submitErrors++;
      await new Promise((r) => setTimeout(r, 1000));
    }
  };

  log(`submitting ${keyJobs} keys and ${uploads} uploads`);
  let redisRestarted = false;
  for (let k = 0, u = 0; k < keys.length || u < uploads;) {
    if (k < keys.length) {
      await submitKeys(keys.slice(k, k + 250));
      k += 250;
    }
    const upTo = Math.min(uploads, u + Math.ceil(uploads / Math.ceil(keys.length / 250)));
    await Promise.all(Array.from({ length: upTo - u }, (_, j) => upload(u + j)));
    u = upTo;
  }
  log(`accepted ${accepted.size}; waiting for them to finish`);
  const queue = createClassifyQueue(config, { url: redis.url });
  let middle = false;
  for (;;) {
    const counts = await queue.getJobCounts('completed', 'failed').catch(() => undefined);
    const done = (counts?.completed ?? 0) + (counts?.failed ?? 0);
    if (!middle && done >= accepted.size / 2) {
      middle = true;
      await sample('middle');
      if (!redisRestarted) {
        redisRestarted = true;
        const port = redis.port;
        log('kill -9 Redis and restart it (AOF)');
        await redis.kill('SIGKILL');
        redis = await startRedisServer({ port, args: redisArgs });
      }
    }
    if (counts && done >= accepted.size) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  const seconds = (Date.now() - t0) / 1000;
  killing = false;
  await sample('end');

  // Invariants: completed + failed == accepted, every id one job, one result document per id, poison failed.
  const counts = await queue.getJobCounts(
    'completed',
    'failed',
    'waiting',
    'active',
    'delayed',
    'prioritized',
  );
  let documents = 0;
  let token: string | undefined;
  do {
    const page = await s3Client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: config.s3.resultsPrefix, ContinuationToken: token }),
    );
    documents += page.KeyCount ?? 0;
    token = page.NextContinuationToken;
  } while (token !== undefined);
  let poisonFailed = 0;
  for (const id of poisonIds) {
    const job = await queue.getJob(id);
    if ((await job?.getState()) === 'failed') poisonFailed++;
  }
  const summary = {
    jobs: JOBS,
    accepted: accepted.size,
    completed: counts.completed ?? 0,
    failed: counts.failed ?? 0,
    open: (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0),
    resultDocuments: documents,
    poison: poisonIds.size,
    poisonFailed,
    workerKills: kills,
    redisRestarts: redisRestarted ? 1 : 0,
    uploadsBusy503: refusedBusy,
    submitRetries: submitErrors,
    seconds: Math.round(seconds),
    jobsPerSecond: Math.round((accepted.size / seconds) * 10) / 10,
    samples,
  };
  const ok =
    summary.completed + summary.failed === summary.accepted &&
    summary.resultDocuments === summary.accepted &&
    summary.poisonFailed === summary.poison;
  process.stdout.write(`${JSON.stringify({ ok, ...summary }, null, 2)}\n`);

  await queue.close();
  api.kill('SIGTERM');
  for (const w of workers) w.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 2000));
  for (const w of [api, ...workers]) if (w.exitCode === null) w.kill('SIGKILL');
  await redis.stop();
  await s3.stop();
  s3Client.destroy();
  await killer.catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
  process.exit(ok ? 0 : 1);
}

await main();
