// Human review decisions reach the results index live: the API (started as in production, server.ts, with
// DATABASE_URL) records the reviewed document in Postgres at once; with Postgres unreachable it goes to the
// outcome stream and an indexer applies it later. Either way an older, unreviewed version of the same outcome
// (a re-delivered stream entry) never undoes the decision, and the index equals a reindex from S3.
import { KeyStore } from '@labelq/access';
import { startApi, type ApiServer } from '@labelq/api';
import { loadConfig, type Config } from '@labelq/config';
import type { ResultDocument } from '@labelq/contracts';
import { sampleResultDocument } from '@labelq/contracts/testing';
import { createIndexer, indexBacklog, migrate, reindex, upsertDocuments } from '@labelq/index';
import { createObjectStore, type ObjectStore } from '@labelq/storage';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPhoto } from '../fixtures/index.ts';
import { testEnv, testRedisUrl, uniqueName } from '../helpers/env.ts';
import { createTestIndexDb, dumpIndex, type TestIndexDb } from '../helpers/index-db.ts';
import { startLocalS3, type LocalS3 } from '../helpers/s3.ts';

const BUCKET = 'labelq-index-reviews';
const TENANT = 'acme';
const id = (n: number) => `img_${n.toString(16).padStart(32, '0')}`;

let s3: LocalS3;
let store: ObjectStore;
let db: TestIndexDb;
let redis: Redis;
let config: Config;
let reviewer: { key: string; id: string };
const apis: ApiServer[] = [];

/** An image the policy sent to review, as the worker wrote it to S3 and the indexer put it in the index. */
async function imageInReview(n: number): Promise<ResultDocument> {
  const doc = sampleResultDocument(id(n), {
    tenant: TENANT,
    source: { bucket: BUCKET, key: `photos/${n}.jpg`, etag: `"${n}"`, bytes: 1000 },
    moderation: { decision: 'review', reasons: [], policy: 'p-1', models: ['nsfw-mobilenet-v2'] },
  });
  await store.putObject(BUCKET, doc.source.key, readPhoto('chelsea'));
  await store.putJson(BUCKET, store.resultKey(TENANT, doc.id), doc);
  await upsertDocuments(db.pool, [doc]);
  return doc;
}

async function startApiWith(databaseUrl: string): Promise<string> {
  const api = await startApi(loadConfig(env(databaseUrl)), pino({ level: 'silent' }), {
    host: '127.0.0.1',
    port: 0,
    models: ['nsfw-mobilenet-v2'],
  });
  apis.push(api);
  return api.url;
}

let envBase: Record<string, string>;
const env = (databaseUrl: string) => ({ ...envBase, DATABASE_URL: databaseUrl });

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${reviewer.key}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
const items = (body: Record<string, unknown>) =>
  body.items as { id: string; decision: string; modelDecision: string; reviewedBy: string }[];

beforeAll(async () => {
  s3 = await startLocalS3([BUCKET]);
  db = await createTestIndexDb();
  const run = uniqueName('idxrev');
  envBase = {
    ...testEnv({
      redisUrl: testRedisUrl(),
      queueName: run,
      s3Endpoint: s3.endpoint,
      bucket: BUCKET,
      prefix: run,
    }),
    REDIS_KEY_PREFIX: run,
    LOG_LEVEL: 'silent',
  };
  config = loadConfig(env(db.url));
  store = createObjectStore(config.s3, s3.client);
  redis = new Redis(config.redis.url, { maxRetriesPerRequest: 1 });
  const created = await new KeyStore(redis, { prefix: config.redis.keyPrefix }).create({
    tenant: TENANT,
    scopes: ['read', 'review'],
  });
  reviewer = { key: created.key, id: created.id };
});

afterAll(async () => {
  for (const api of apis) await api.close();
  const left = await redis.keys(`${config.redis.keyPrefix}:*`);
  if (left.length > 0) await redis.del(...left);
  redis?.disconnect();
  await db?.drop();
  await s3?.stop();
});

describe('review decisions in the results index', () => {
  it('a decision is searchable at once, survives an older re-delivery, and equals a reindex', async () => {
    const base = await startApiWith(db.url);
    const doc = await imageInReview(1);
    expect(items((await call(base, 'GET', '/v1/images?decision=review')).body).map((i) => i.id)).toEqual([
      doc.id,
    ]);

    const decided = await call(base, 'POST', `/v1/reviews/${doc.id}`, { decision: 'block' });
    expect(decided.status).toBe(200);
    const blocked = items((await call(base, 'GET', '/v1/images?decision=block')).body);
    expect(blocked).toEqual([
      expect.objectContaining({
        id: doc.id,
        decision: 'block',
        modelDecision: 'review',
        reviewedBy: reviewer.id,
      }),
    ]);
    expect(items((await call(base, 'GET', '/v1/images?decision=review')).body)).toEqual([]);

    // The unreviewed version of the same outcome arrives late (a re-delivered stream entry): it is older.
    await upsertDocuments(db.pool, [doc]);
    expect((await call(base, 'GET', '/v1/images?decision=block')).body.items).toHaveLength(1);

    const rebuilt = await createTestIndexDb();
    try {
      const result = await reindex({
        pool: rebuilt.pool,
        store,
        bucket: BUCKET,
        resultsPrefix: config.s3.resultsPrefix,
      });
      expect(result).toMatchObject({ indexed: 1, invalid: 0 });
      expect(await dumpIndex(rebuilt.pool)).toEqual(await dumpIndex(db.pool));
    } finally {
      await rebuilt.drop();
    }
  });

  it('with Postgres unreachable the decision waits in the outcome stream, and an indexer applies it', async () => {
    const doc = await imageInReview(2);
    // Nothing listens on port 1: the API's direct upsert fails at once and falls back to the stream.
    const base = await startApiWith('postgres://postgres@127.0.0.1:1/none');
    const decided = await call(base, 'POST', `/v1/reviews/${doc.id}`, { decision: 'allow' });
    expect(decided.status).toBe(200);
    const backlog = await indexBacklog(redis, config.redis.keyPrefix, config.index.streamMaxEntries);
    expect(backlog.entries).toBe(1);

    const indexerRedis = new Redis(config.redis.url, { maxRetriesPerRequest: null });
    const indexer = createIndexer({
      redis: indexerRedis,
      pool: db.pool,
      keyPrefix: config.redis.keyPrefix,
      maxEntries: config.index.streamMaxEntries,
      logger: pino({ level: 'silent' }),
      blockMs: 100,
    });
    await migrate(db.pool);
    await indexer.start();
    try {
      const deadline = Date.now() + 20_000;
      let row: { decision: string; reviewed_by: string } | undefined;
      while (Date.now() < deadline) {
        row = (
          await db.pool.query<{ decision: string; reviewed_by: string }>(
            'SELECT decision, reviewed_by FROM labelq.images WHERE tenant = $1 AND id = $2',
            [TENANT, doc.id],
          )
        ).rows[0];
        if (row?.decision === 'allow') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(row).toEqual({ decision: 'allow', reviewed_by: reviewer.id });
    } finally {
      await indexer.stop();
    }
  });
});
