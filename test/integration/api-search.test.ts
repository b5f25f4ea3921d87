// The search routes over real HTTP with real API keys (two tenants), a real index database and s3rver: scope
// `read`, tenant isolation, coded 400s for unknown filters, hostile text and tampered or foreign cursors, facets,
// near duplicates, and 503s without an index or with Postgres unreachable.
import { KeyStore } from '@labelq/access';
import { buildApp, createApiStorage } from '@labelq/api';
import { loadConfig, type Config } from '@labelq/config';
import type { StoredJobPayload } from '@labelq/contracts';
import { sampleResultDocument } from '@labelq/contracts/testing';
import { createIndexPool, SearchService, upsertDocuments } from '@labelq/index';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv, testRedisUrl, uniqueName } from '../helpers/env.ts';
import { createTestIndexDb, type TestIndexDb } from '../helpers/index-db.ts';
import { modelInfos } from '../helpers/models.ts';
import { startLocalS3, type LocalS3 } from '../helpers/s3.ts';

const BUCKET = 'labelq-search-test';
const id = (n: number) => `img_${n.toString(16).padStart(32, '0')}`;
const model = { name: 'alpha-net', version: '1', sha256: '0'.repeat(64) };

function doc(n: number, tenant: string, label: string, phash: string, minute: number) {
  const d = sampleResultDocument(id(n), {
    tenant,
    source: { bucket: BUCKET, key: `k/${n}.jpg`, etag: `"${n}"`, bytes: 10 },
    results: [{ task: 'classify', model, labels: [{ name: label, confidence: 0.9 }] }],
    properties: { v: 1, phash, colours: [], brightness: 0.5, sharpness: 300 },
  });
  return {
    ...d,
    timings: { ...d.timings, finishedAt: new Date(Date.UTC(2026, 10, 1, 0, minute)).toISOString() },
  };
}

let s3: LocalS3;
let config: Config;
let redis: Redis;
let queue: Queue<StoredJobPayload>;
let db: TestIndexDb;
const apps: Awaited<ReturnType<typeof buildApp>>[] = [];
let base: string;
let noIndex: string;
let downIndex: string;
let acme: string;
let rival: string;
let submitOnly: string;

async function api(search: SearchService | undefined): Promise<string> {
  const app = await buildApp({
    config,
    logger: pino({ level: 'silent' }),
    queue,
    storage: createApiStorage(config),
    models: modelInfos(['alpha-net']),
    keys: new KeyStore(redis, { prefix: config.redis.keyPrefix }),
    ...(search !== undefined ? { search } : {}),
  });
  apps.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

beforeAll(async () => {
  s3 = await startLocalS3([BUCKET]);
  const run = uniqueName('search');
  config = loadConfig(
    testEnv({
      redisUrl: testRedisUrl(),
      queueName: run,
      s3Endpoint: s3.endpoint,
      bucket: BUCKET,
      prefix: run,
      extra: { REDIS_KEY_PREFIX: run },
    }),
  );
  redis = new Redis(config.redis.url, { maxRetriesPerRequest: 1 });
  queue = new Queue<StoredJobPayload>(config.queue.name, { connection: redis, prefix: config.queue.prefix });
  db = await createTestIndexDb();
  await upsertDocuments(db.pool, [
    doc(1, 'acme', 'dog', 'f0e1d2c3b4a59687', 1),
    doc(2, 'acme', 'dog', 'f0e1d2c3b4a59686', 2),
    doc(3, 'acme', 'cat', '0f1e2d3c4b5a6978', 3),
    doc(4, 'rival', 'dog', 'f0e1d2c3b4a59687', 4),
  ]);
  const keys = new KeyStore(redis, { prefix: config.redis.keyPrefix });
  acme = (await keys.create({ tenant: 'acme', scopes: ['read'] })).key;
  rival = (await keys.create({ tenant: 'rival', scopes: ['read'] })).key;
  submitOnly = (await keys.create({ tenant: 'acme', scopes: ['submit'] })).key;
  base = await api(new SearchService(db.pool));
  noIndex = await api(undefined);
  // Nothing listens on port 1: every query fails to connect.
  downIndex = await api(
    new SearchService(createIndexPool('postgres://postgres@127.0.0.1:1/none', { connectTimeoutMs: 500 })),
  );
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await queue?.obliterate({ force: true }).catch(() => undefined);
  await queue?.close();
  const left = await redis.keys(`${config.redis.keyPrefix}:*`);
  if (left.length > 0) await redis.del(...left);
  redis?.disconnect();
  await db?.drop();
  await s3?.stop();
});

async function get(url: string, key: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
const ids = (body: Record<string, unknown>) => (body.items as { id: string }[]).map((i) => i.id);

describe('GET /v1/images (search)', () => {
  it('answers the tenant its own images, newest first, with a cursor per page', async () => {
    const first = await get(`${base}/v1/images?label=dog&limit=1`, acme);
    expect(first.status).toBe(200);
    expect(ids(first.body)).toEqual([id(2)]);
    const next = await get(
      `${base}/v1/images?label=dog&limit=1&cursor=${String(first.body.nextCursor)}`,
      acme,
    );
    expect(ids(next.body)).toEqual([id(1)]);
    expect(next.body.nextCursor).toBeNull();
    expect(ids((await get(`${base}/v1/images?label=dog`, rival)).body)).toEqual([id(4)]);
  });

  it.each([
    ['an unknown filter', 'colour=red', 'invalid_request'],
    ['confidence out of range', 'minConfidence=2', 'invalid_request'],
    ['limit out of range', 'limit=10000', 'invalid_request'],
    ['a bad time', 'before=tomorrow', 'invalid_request'],
    ['a bad decision', 'decision=maybe', 'invalid_request'],
    ['a forged cursor', 'cursor=eyJ2IjoxfQ.AAAA', 'cursor_invalid'],
  ])('%s: 400 %s', async (_name, query, code) => {
    const res = await get(`${base}/v1/images?${query}`, acme);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code } });
  });

  it("refuses another tenant's cursor with 400 cursor_invalid", async () => {
    const page = await get(`${base}/v1/images?limit=1`, rival);
    // Rival has one image: make a cursor from acme's pages instead and hand it to rival.
    const acmePage = await get(`${base}/v1/images?limit=1`, acme);
    expect(page.body.nextCursor).toBeNull();
    const res = await get(`${base}/v1/images?limit=1&cursor=${String(acmePage.body.nextCursor)}`, rival);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'cursor_invalid' } });
  });

  it.each(["'; DROP TABLE labelq.images; --", "x' OR '1'='1", '%00\\"<->!&|'])(
    'hostile text %j is a search term: 200, no rows, the tables intact',
    async (text) => {
      const res = await get(`${base}/v1/images?text=${encodeURIComponent(text)}`, acme);
      expect(res.status).toBe(200);
      expect(ids(res.body)).toEqual([]);
      expect(ids((await get(`${base}/v1/images`, acme)).body)).toHaveLength(3);
    },
  );

  it('needs the read scope', async () => {
    expect((await get(`${base}/v1/images`, submitOnly)).status).toBe(403);
  });

  it('503 index_not_configured without DATABASE_URL; 503 index_unavailable when Postgres does not answer', async () => {
    const none = await get(`${noIndex}/v1/images`, acme);
    expect(none.status).toBe(503);
    expect(none.body).toMatchObject({ error: { code: 'index_not_configured' } });
    const down = await get(`${downIndex}/v1/labels`, acme);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ error: { code: 'index_unavailable' } });
  });
});

describe('GET /v1/labels and GET /v1/images/:id/similar', () => {
  it('counts labels per tenant', async () => {
    expect((await get(`${base}/v1/labels`, acme)).body).toEqual({
      items: [
        { label: 'dog', images: 2 },
        { label: 'cat', images: 1 },
      ],
    });
    expect((await get(`${base}/v1/labels`, rival)).body).toEqual({ items: [{ label: 'dog', images: 1 }] });
  });

  it("finds the tenant's near duplicates only, with their distance", async () => {
    const res = await get(`${base}/v1/images/${id(1)}/similar?maxDistance=4`, acme);
    expect(res.status).toBe(200);
    expect((res.body.items as { id: string; distance: number }[]).map((i) => [i.id, i.distance])).toEqual([
      [id(2), 1],
    ]);
    const foreign = await get(`${base}/v1/images/${id(1)}/similar`, rival);
    expect(foreign.status).toBe(404);
    const bad = await get(`${base}/v1/images/${id(1)}/similar?maxDistance=64`, acme);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'invalid_request' } });
  });
});
