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
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { createClassifyQueue } from '@labelq/queue';
import { loadConfig } from '@labelq/config';
import { freePort, s3rverEnv, s3ClientFor, startRedisServer, startS3rver } from '@labelq/dev-services';
import { Redis } from 'ioredis';
import { readFileSync } from 'node:fs';
import { repoRoot, rssMb, spawnService, waitReady } from './service-process.ts';

// s3rver (in this process) encrypts ListObjectsV2 continuation tokens with DES: past 1,000 result documents the
// final listing needs OpenSSL's legacy provider, so run again with it unless it is on.
if (!(process.env.NODE_OPTIONS ?? '').includes('--openssl-legacy-provider')) {
  const rerun = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: {
      ...process.env,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --openssl-legacy-provider`.trim(),
    },
  });
  process.exit(rerun.status ?? 1);
}

const root = repoRoot;
const JOBS = Number(process.env.SOAK_JOBS ?? 20_000);
const KILL_EVERY_MS = Number(process.env.KILL_EVERY_MS ?? 120_000);
const WORKERS = Number(process.env.SOAK_WORKERS ?? 1);
/** Stop waiting for the backlog after this long (the summary then reports the jobs still open; ok is false). */
const MAX_WAIT_MS = Number(process.env.SOAK_MAX_WAIT_MS ?? Infinity);
const UPLOAD_SHARE = 0.2;
const POISON_SHARE = 0.01;
const BUCKET = 'labelq-soak';
const photos = ['astronaut', 'camera', 'chelsea', 'coffee', 'rocket'].map((n) =>
  readFileSync(join(root, 'test', 'fixtures', 'photos', `${n}.jpg`)),
);
const log = (msg: string): void => void process.stderr.write(`[soak ${new Date().toISOString()}] ${msg}\n`);

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
    ...s3rverEnv(s3.endpoint, BUCKET),
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
  await waitReady(base, 50_000);
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
      apiPeakRssMb: await rssMb(api.pid, 'VmHWM'),
      loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
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
  // Answers other than 202, by status and code ('network' when the request failed): each one was retried after
  // its Retry-After (1 s when absent).
  const refusals: Record<string, number> = {};
  const refused = async (res: Response | undefined): Promise<void> => {
    let what = 'network';
    if (res !== undefined) {
      const body = (await res.json().catch(() => ({}))) as { error?: { code?: string } };
      what = `${res.status} ${body.error?.code ?? ''}`.trim();
    }
    refusals[what] = (refusals[what] ?? 0) + 1;
    const retryAfter = Number(res?.headers.get('retry-after') ?? 1);
    await new Promise((r) => setTimeout(r, (Number.isFinite(retryAfter) ? retryAfter : 1) * 1000));
  };

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
      await refused(res);
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
      await refused(res);
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
  const waitStart = Date.now();
  let lastProgress = 0;
  for (;;) {
    const counts = await queue.getJobCounts('completed', 'failed').catch(() => undefined);
    const done = (counts?.completed ?? 0) + (counts?.failed ?? 0);
    if (Date.now() - lastProgress >= 30_000) {
      lastProgress = Date.now();
      const s = (Date.now() - t0) / 1000;
      const workerRss = await Promise.all(workers.map((w) => rssMb(w.pid)));
      log(
        `${done}/${accepted.size} done after ${Math.round(s)} s (${(done / s).toFixed(1)} jobs/s), ` +
          `worker RSS ${workerRss.join('/')} MB, API RSS ${await rssMb(api.pid)} MB, load ${loadavg()[0]!.toFixed(2)}`,
      );
    }
    if (Date.now() - waitStart > MAX_WAIT_MS) {
      log(`giving up waiting after ${MAX_WAIT_MS} ms with ${accepted.size - done} open`);
      break;
    }
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
  // Documents by id: one per accepted id, none for an id nobody was told about.
  const documentIds: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3Client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: config.s3.resultsPrefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) documentIds.push(/([^/]+)\.json$/.exec(o.Key ?? '')?.[1] ?? '');
    token = page.NextContinuationToken;
  } while (token !== undefined);
  const documents = new Set(documentIds);
  const missingDocuments = [...accepted].filter((id) => !documents.has(id)).length;
  const unexpectedDocuments = [...documents].filter((id) => !accepted.has(id)).length;
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
    resultDocuments: documentIds.length,
    duplicateDocuments: documentIds.length - documents.size,
    missingDocuments,
    unexpectedDocuments,
    poison: poisonIds.size,
    poisonFailed,
    workerKills: kills,
    redisRestarts: redisRestarted ? 1 : 0,
    refusals,
    seconds: Math.round(seconds),
    jobsPerSecond: Math.round((accepted.size / seconds) * 10) / 10,
    samples,
  };
  const ok =
    summary.completed + summary.failed === summary.accepted &&
    summary.resultDocuments === summary.accepted &&
    missingDocuments === 0 &&
    unexpectedDocuments === 0 &&
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
