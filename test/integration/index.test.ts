// The results index end to end: a worker runtime (real models, s3rver, Redis) records outcomes, its indexer
// fills a private Postgres cluster that this test starts on a free port and stops mid-run; classification goes
// on, the backlog waits in Redis, the index is complete once Postgres is back; a reindex from S3 equals the live
// index; near duplicates find a re-encoded, resized copy and no unrelated photo.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Config } from '@labelq/config';
import {
  similarQuerySchema,
  imageSearchQuerySchema,
  resultLabels,
  type ClassifyJob,
  type StoredJobPayload,
} from '@labelq/contracts';
import { sampleResultDocument } from '@labelq/contracts/testing';
import {
  dropDatabase,
  ensureDatabase,
  resolveRedis,
  startPostgres,
  type PostgresHandle,
  type ResolvedRedis,
} from '@labelq/dev-services';
import { createInferencePool, type InferencePool } from '@labelq/inference';
import {
  createIndexPool,
  indexBacklog,
  migrate,
  reindex,
  SearchService,
  upsertDocuments,
  type Pool,
} from '@labelq/index';
import { createObjectStore, type ObjectStore } from '@labelq/storage';
import { createWorkerRuntime, type WorkerRuntime } from '@labelq/worker';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelsDir, photoNames, readPhoto } from '../fixtures/index.ts';
import { testConfig, uniqueName } from '../helpers/env.ts';
import { dumpIndex } from '../helpers/index-db.ts';
import { enqueue, s3Job, testQueue, waitForJob } from '../helpers/jobs.ts';
import { startLocalS3, type LocalS3 } from '../helpers/s3.ts';

const MODELS = ['coco-nanodet', 'nsfw-mobilenet-v2'];
const BUCKET = 'index-it';
const DB = `labelq_it_${Date.now().toString(36)}`;

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('results index (worker -> outcome stream -> indexer -> Postgres)', () => {
  let redis: ResolvedRedis;
  let s3: LocalS3;
  let models: InferencePool;
  let postgres: PostgresHandle;
  let pgDir: string;
  let databaseUrl: string;
  let pool: Pool;
  let search: SearchService;
  let store: ObjectStore;
  let config: Config;
  let runtime: WorkerRuntime;
  let queue: Queue<StoredJobPayload>;
  let inspect: Redis;
  const prefix = uniqueName('idx');
  const keyPrefix = uniqueName('lqidx');
  const jobs: ClassifyJob[] = [];

  beforeAll(async () => {
    redis = await resolveRedis(process.env.REDIS_URL);
    s3 = await startLocalS3([BUCKET]);
    pgDir = await mkdtemp(join(tmpdir(), 'labelq-index-pg-'));
    await chmod(pgDir, 0o755);
    postgres = await startPostgres({ dataDir: join(pgDir, 'data') });
    databaseUrl = await ensureDatabase(postgres.url, DB);
    pool = createIndexPool(databaseUrl, { max: 2 });
    search = new SearchService(pool);
    models = await createInferencePool({ modelsDir, models: MODELS, threads: 1 });
    config = testConfig({
      redisUrl: redis.url,
      s3Endpoint: s3.endpoint,
      bucket: BUCKET,
      queueName: uniqueName('iq'),
      prefix,
      extra: {
        DATABASE_URL: databaseUrl,
        REDIS_KEY_PREFIX: keyPrefix,
        JOB_BACKOFF_MS: '100',
        WORKER_CONCURRENCY: '2',
      },
    });
    store = createObjectStore(config.s3, s3.client);
    for (const name of photoNames) await store.putObject(BUCKET, `src/${name}.jpg`, readPhoto(name));
    // A near copy: the cat photo resized to 60 % and re-encoded as WebP at quality 50.
    const meta = await sharp(readPhoto('chelsea')).metadata();
    const copy = await sharp(readPhoto('chelsea'))
      .resize(Math.round(meta.width * 0.6))
      .webp({ quality: 50 })
      .toBuffer();
    await store.putObject(BUCKET, 'src/chelsea-copy.webp', copy);
    runtime = await createWorkerRuntime(config, {
      logger: pino({ level: process.env.TEST_LOG ?? 'silent' }),
      pool: models,
    });
    queue = testQueue(config);
    inspect = new Redis(redis.url);
  });

  afterAll(async () => {
    await runtime?.close();
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    await pool?.end();
    await models?.close();
    if (inspect !== undefined) {
      const keys = await inspect.keys(`${keyPrefix}:*`);
      if (keys.length > 0) await inspect.del(...keys);
      inspect.disconnect();
    }
    await postgres?.stop();
    await rm(pgDir, { recursive: true, force: true });
    await s3?.stop();
    await redis?.stop();
  });

  async function classify(keys: string[], tenant: string): Promise<ClassifyJob[]> {
    const batch = keys.map((key) => s3Job(BUCKET, key, MODELS, tenant));
    await enqueue(queue, config, batch);
    for (const job of batch) expect((await waitForJob(queue, job.id, 120_000)).state).toBe('completed');
    jobs.push(...batch);
    return batch;
  }

  it('indexes every outcome after classification, labels as the documents have them', async () => {
    const acme = await classify(
      ['src/chelsea.jpg', 'src/chelsea-copy.webp', 'src/coffee.jpg', 'src/rocket.jpg'],
      'acme',
    );
    await classify(['src/astronaut.jpg'], 'rival');
    await until('four acme images in the index', async () => {
      const page = await search.searchImages('acme', imageSearchQuerySchema.parse({}));
      return page.items.length === 4 ? page : undefined;
    });
    for (const job of acme) {
      const doc = (await waitForJob(queue, job.id)).job.returnvalue;
      const image = await search.getImage('acme', job.id);
      expect(image).toMatchObject({
        id: job.id,
        key: job.key,
        status: 'completed',
        decision: doc.moderation?.decision,
      });
      const expected = doc.results
        .flatMap((r) => resultLabels(r).map((l) => `${r.model.name}:${l.name}`))
        .sort();
      expect(image!.labels.map((l) => `${l.model}:${l.label}`).sort()).toEqual(expected);
      expect(image!.properties?.phash).toBe(doc.properties?.phash);
    }
    // The cat is found by its label (on every image whose document has it at 0.3 or more), in acme only.
    const docs = await Promise.all(acme.map(async (j) => (await waitForJob(queue, j.id)).job.returnvalue));
    const withCat = docs
      .filter((d) =>
        d.results.some((r) => resultLabels(r).some((l) => l.name === 'cat' && l.confidence >= 0.3)),
      )
      .map((d) => d.source.key)
      .sort();
    expect(withCat).toContain('src/chelsea.jpg');
    const cats = await search.searchImages(
      'acme',
      imageSearchQuerySchema.parse({ label: 'cat', minConfidence: '0.3' }),
    );
    expect(cats.items.map((i) => i.key).sort()).toEqual(withCat);
    const rival = await search.searchImages('rival', imageSearchQuerySchema.parse({}));
    expect(rival.items.map((i) => i.key)).toEqual(['src/astronaut.jpg']);
  });

  it('finds the re-encoded, resized copy as a near duplicate, and no unrelated photo', async () => {
    const [original, copy] = jobs;
    const near = await search.similar('acme', original!.id, similarQuerySchema.parse({}));
    expect(near.items.map((i) => i.id)).toEqual([copy!.id]);
    expect(near.items[0]!.distance).toBeLessThanOrEqual(6);
    // Even at the widest distance no unrelated photo comes close.
    const widest = await search.similar(
      'acme',
      original!.id,
      similarQuerySchema.parse({ maxDistance: '15' }),
    );
    expect(widest.items.map((i) => i.id)).toEqual([copy!.id]);
  });

  it('keeps classifying while Postgres is down and completes the index when it is back', async () => {
    await postgres.stop();
    const during = await classify(['src/camera.jpg', 'src/astronaut.jpg', 'src/coffee.jpg'], 'beta');
    const backlog = await indexBacklog(inspect, keyPrefix, config.index.streamMaxEntries);
    expect(backlog.entries).toBeGreaterThanOrEqual(during.length);
    expect(backlog.overflowed).toBe(0);
    postgres = await startPostgres({ dataDir: postgres.dataDir, port: postgres.port });
    await until(
      'the three outcomes indexed after the outage and the stream trimmed',
      async () => {
        const page = await search.searchImages('beta', imageSearchQuerySchema.parse({}));
        const left = await indexBacklog(inspect, keyPrefix, config.index.streamMaxEntries);
        return page.items.length === 3 && left.entries === 0 && left.pending === 0 ? page : undefined;
      },
      90_000,
    );
  });

  it('a reindex from S3 equals the live index', async () => {
    const live = await dumpIndex(pool);
    const rebuiltName = `${DB}_re`;
    const rebuiltUrl = await ensureDatabase(postgres.url, rebuiltName);
    const rebuilt = createIndexPool(rebuiltUrl, { max: 2 });
    try {
      await migrate(rebuilt);
      const result = await reindex({
        pool: rebuilt,
        store,
        bucket: BUCKET,
        resultsPrefix: config.s3.resultsPrefix,
      });
      expect(result).toMatchObject({ indexed: jobs.length, invalid: 0, deleted: 0 });
      expect(await dumpIndex(rebuilt)).toEqual(live);
      // One tenant's reindex into the live index deletes that tenant's row no S3 document backs, with its
      // labels, and changes nothing else.
      await upsertDocuments(pool, [sampleResultDocument('img_stray', { tenant: 'acme' })]);
      const again = await reindex({
        pool,
        store,
        bucket: BUCKET,
        resultsPrefix: config.s3.resultsPrefix,
        tenant: 'acme',
      });
      expect(again).toMatchObject({ indexed: 4, deleted: 1 });
      expect(await dumpIndex(pool)).toEqual(live);
    } finally {
      await rebuilt.end();
      await dropDatabase(postgres.url, rebuiltName);
    }
  });
});
