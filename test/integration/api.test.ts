// The upload API over real HTTP against the shared Redis and an embedded s3rver (no worker: jobs stay queued).
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, createApiStorage } from '@labelq/api';
import { loadConfig, type Config } from '@labelq/config';
import { PRIORITY, urgentHintsKey } from '@labelq/queue';
import type { Redis } from 'ioredis';
import { startApiStack, type ApiStack } from '../helpers/api-stack.ts';
import { testEnv, testRedisUrl } from '../helpers/env.ts';
import { readPhoto } from '../fixtures/index.ts';
import { modelInfos } from '../helpers/models.ts';

const REDIS_URL = testRedisUrl();
const BUCKET = 'labelq-api-test';
const OTHER = 'labelq-api-other';
const FOREIGN = 'labelq-api-foreign';
const MODELS = ['alpha-net', 'beta-net'];
const LIMIT = 200_000;

let stack: ApiStack;
let s3: ApiStack['s3'];
let config: Config;
let queue: ApiStack['queue'];
let base: string;

beforeAll(async () => {
  stack = await startApiStack({
    name: 'api-test',
    buckets: [BUCKET, OTHER, FOREIGN],
    models: MODELS,
    env: { S3_ALLOWED_BUCKETS: `${BUCKET},${OTHER}`, MAX_UPLOAD_BYTES: String(LIMIT) },
    deps: ({ redis, storage }) => ({
      readiness: [
        { name: 'redis', check: async () => void (await redis.ping()) },
        { name: 's3', check: () => storage.ping() },
      ],
    }),
  });
  ({ s3, config, queue, base } = stack);
});

afterAll(async () => {
  await stack?.stop();
});

function form(
  bytes: Uint8Array,
  fields: Record<string, string | string[]> = {},
  type = 'image/jpeg',
): FormData {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) for (const one of [v].flat()) fd.append(k, one);
  fd.append('file', new Blob([bytes], { type }), 'photo.jpg');
  return fd;
}

/** Every field any response of this API may carry (tests read what they expect). */
interface Reply {
  id: string;
  status: string;
  duplicate?: boolean;
  links: { self: string };
  timings: { submittedAt: string; startedAt: string | null };
  count: number;
  jobs: { id: string }[];
  error: { code: string; message: string };
}

async function post(
  path: string,
  body: FormData | Uint8Array | string,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${base}${path}`, { method: 'POST', body, headers });
  return { status: res.status, body: (await res.json()) as Reply };
}

async function get(path: string) {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, body: (await res.json()) as Reply };
}

async function postJson(path: string, value: unknown) {
  return post(path, JSON.stringify(value), { 'content-type': 'application/json' });
}

describe('POST /v1/images', () => {
  it('queues a multipart upload under a content-derived key with the default models', async () => {
    const bytes = readPhoto('chelsea');
    const res = await post('/v1/images', form(bytes, { metadata: JSON.stringify({ album: 'cats' }) }));
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'queued', links: { self: `/v1/images/${res.body.id}` } });
    expect(res.body.id).toMatch(/^img_[0-9a-f]{32}$/);

    const job = await queue.getJob(res.body.id);
    expect(job?.data).toMatchObject({ bucket: BUCKET, models: MODELS, purpose: 'tagging', origin: 'upload' });
    expect(job?.data.metadata).toEqual({ album: 'cats' });
    expect(job?.data.key).toMatch(new RegExp(`^${config.s3.uploadsPrefix}default/[0-9a-f]{64}\\.jpg$`));
    expect(job?.opts.priority).toBe(PRIORITY.tagging);

    // The stored object is byte-identical to the upload.
    const obj = await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: job!.data.key }));
    expect(Buffer.from(await obj.Body!.transformToByteArray()).equals(bytes)).toBe(true);

    const status = await get(res.body.links.self);
    expect(status.body).toMatchObject({ id: res.body.id, status: 'queued', timings: { startedAt: null } });
    expect(Date.parse(status.body.timings.submittedAt)).not.toBeNaN();
  });

  it('accepts a raw image/* body with options in the query, moderation first', async () => {
    const res = await post('/v1/images?purpose=moderation&models=beta-net', readPhoto('rocket'), {
      'content-type': 'image/jpeg',
    });
    expect(res.status).toBe(202);
    const job = await queue.getJob(res.body.id);
    expect(job?.data).toMatchObject({ models: ['beta-net'], purpose: 'moderation' });
    expect(job?.opts.priority).toBe(PRIORITY.moderation);
    // One hint for the workers' urgent lanes (WORKER_URGENT_CONCURRENCY), left beside the answer, not before it.
    const redis = (await queue.client) as unknown as Redis;
    await expect.poll(() => redis.llen(urgentHintsKey(queue))).toBe(1);
  });

  it('maps a duplicate upload to the same id and one job', async () => {
    const bytes = readPhoto('coffee');
    const first = await post('/v1/images', form(bytes, { models: 'beta-net,alpha-net' }));
    const second = await post('/v1/images', form(bytes, { models: ['alpha-net', 'beta-net'] }));
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.duplicate).toBe(true);
    const jobs = await queue.getJobs(['prioritized', 'waiting']);
    expect(jobs.filter((j) => j.id === first.body.id)).toHaveLength(1);
  });

  it('refuses SVG and other non-images by magic bytes (415), whatever the content type says', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>');
    const a = await post('/v1/images', form(svg, {}, 'image/svg+xml'));
    expect(a).toMatchObject({ status: 415, body: { error: { code: 'unsupported_format' } } });
    const b = await post('/v1/images', svg, { 'content-type': 'image/jpeg' });
    expect(b).toMatchObject({ status: 415, body: { error: { code: 'unsupported_format' } } });
    // Not an image content type at all: the request's media type is refused, not an image format.
    const c = await post('/v1/images', 'hello', { 'content-type': 'text/plain' });
    expect(c).toMatchObject({ status: 415, body: { error: { code: 'unsupported_media_type' } } });
  });

  it('refuses uploads over the limit (413), multipart and raw', async () => {
    const big = Buffer.alloc(LIMIT + 1000, 7);
    big.set([0xff, 0xd8, 0xff, 0xe0]);
    const a = await post('/v1/images', form(big));
    expect(a).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
    const b = await post('/v1/images', big, { 'content-type': 'image/jpeg' });
    expect(b).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
    // Chunked, no Content-Length: refused by counting while the body streams in.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < big.length; i += 16_384) controller.enqueue(big.subarray(i, i + 16_384));
        controller.close();
      },
    });
    const init = { method: 'POST', body, duplex: 'half', headers: { 'content-type': 'image/jpeg' } };
    const c = await fetch(`${base}/v1/images`, init as RequestInit);
    expect(c.status).toBe(413);
    expect(await c.json()).toMatchObject({ error: { code: 'payload_too_large' } });
  });

  it('refuses an empty image (400 image_empty) and a form without a file', async () => {
    const a = await post('/v1/images', form(new Uint8Array(0)));
    expect(a).toMatchObject({ status: 400, body: { error: { code: 'image_empty' } } });
    const b = await post('/v1/images', new Uint8Array(0), { 'content-type': 'image/png' });
    expect(b).toMatchObject({ status: 400, body: { error: { code: 'image_empty' } } });
    const fd = new FormData();
    fd.append('purpose', 'tagging');
    const c = await post('/v1/images', fd);
    expect(c).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
  });

  it('refuses unknown models, bad purposes and bad metadata (400)', async () => {
    const bytes = readPhoto('astronaut');
    const a = await post('/v1/images', form(bytes, { models: 'alpha-net,nope' }));
    expect(a).toMatchObject({ status: 400, body: { error: { code: 'unknown_model' } } });
    expect(a.body.error.message).toContain('nope');
    const b = await post('/v1/images', form(bytes, { purpose: 'fun' }));
    expect(b).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
    expect(b.body.error.message).toContain('purpose');
    const c = await post('/v1/images', form(bytes, { metadata: '[1,2' }));
    expect(c).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
    const d = await post('/v1/images', form(bytes, { metadata: JSON.stringify({ x: 'y'.repeat(5000) }) }));
    expect(d).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
  });
});

describe('POST /v1/jobs', () => {
  it('queues one S3 object and refuses a bucket outside the allow-list (403)', async () => {
    await s3.client.send(
      new PutObjectCommand({ Bucket: OTHER, Key: 'photos/cat.jpg', Body: readPhoto('chelsea') }),
    );
    const ok = await postJson('/v1/jobs', { bucket: OTHER, key: 'photos/cat.jpg', purpose: 'moderation' });
    expect(ok.status).toBe(202);
    expect(ok.body.id).toMatch(/^obj_[0-9a-f]{32}$/);
    const job = await queue.getJob(ok.body.id);
    expect(job?.data).toMatchObject({ bucket: OTHER, key: 'photos/cat.jpg', origin: 's3', models: MODELS });

    const denied = await postJson('/v1/jobs', { bucket: FOREIGN, key: 'photos/cat.jpg' });
    expect(denied).toMatchObject({ status: 403, body: { error: { code: 'bucket_not_allowed' } } });
  });

  it('queues 1000 objects in one request and refuses 1001', async () => {
    const items = Array.from({ length: 1000 }, (_, i) => ({ key: `bulk/${i}.jpg`, models: ['alpha-net'] }));
    const ok = await postJson('/v1/jobs', items);
    expect(ok.status).toBe(202);
    expect(ok.body.count).toBe(1000);
    expect(new Set(ok.body.jobs.map((j: { id: string }) => j.id)).size).toBe(1000);
    expect(await queue.getJob(ok.body.jobs[999]!.id)).toBeDefined();

    const tooMany = await postJson('/v1/jobs', [...items, { key: 'bulk/1000.jpg' }]);
    expect(tooMany).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
    expect(tooMany.body.error.message).toContain('1000');
  });

  it('names the bad item of a bulk request and queues nothing', async () => {
    const before = await queue.count();
    const bad = await postJson('/v1/jobs', [{ key: 'a.jpg' }, { key: 42 }]);
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
    expect(bad.body.error.message).toContain('[1].key');
    const foreign = await postJson('/v1/jobs', [{ key: 'a.jpg' }, { key: 'b.jpg', bucket: FOREIGN }]);
    expect(foreign).toMatchObject({ status: 403, body: { error: { code: 'bucket_not_allowed' } } });
    expect(foreign.body.error.message).toContain('[1]');
    const model = await postJson('/v1/jobs', { key: 'a.jpg', models: ['nope'] });
    expect(model).toMatchObject({ status: 400, body: { error: { code: 'unknown_model' } } });
    const junk = await post('/v1/jobs', '{"key":', { 'content-type': 'application/json' });
    expect(junk).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
    expect(await queue.count()).toBe(before);
  });
});

describe('reads, errors and docs', () => {
  it('answers a storage refusal as 502 storage_rejected without Retry-After, an outage as 503 with it', async () => {
    // Same s3rver, unknown access key: every request is refused (403 InvalidAccessKeyId); retrying cannot help.
    const base = { redisUrl: REDIS_URL, queueName: config.queue.name, bucket: BUCKET };
    const denied = loadConfig(
      testEnv({
        ...base,
        s3Endpoint: s3.endpoint,
        extra: { S3_ACCESS_KEY_ID: 'NOT-A-KEY', LOG_LEVEL: 'silent' },
      }),
    );
    // Nothing listens on port 9: connection refused, a retryable outage.
    const down = loadConfig(
      testEnv({
        ...base,
        s3Endpoint: 'http://127.0.0.1:9',
        extra: { S3_CONNECT_TIMEOUT_MS: '500', LOG_LEVEL: 'silent' },
      }),
    );
    for (const [cfg, status, code, retryAfter] of [
      [denied, 502, 'storage_rejected', null],
      [down, 503, 'storage_unavailable', '1'],
    ] as const) {
      const storage = createApiStorage(cfg);
      const other = await buildApp({
        config: cfg,
        logger: pino({ level: 'silent' }),
        queue,
        storage,
        models: modelInfos(MODELS),
      });
      try {
        const res = await other.inject({ method: 'GET', url: `/v1/images/img_${'f'.repeat(32)}` });
        expect(res.statusCode).toBe(status);
        expect(res.json()).toMatchObject({ error: { code } });
        expect(res.headers['retry-after'] ?? null).toBe(retryAfter);
      } finally {
        await other.close();
        storage.destroy();
      }
    }
  });

  it('answers 404 not_found for bad and unknown ids and unknown routes', async () => {
    for (const path of ['/v1/images/nope', `/v1/images/img_${'0'.repeat(32)}`, '/v2/whatever']) {
      expect(await get(path)).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    }
  });

  it('serves health, readiness and an OpenAPI document listing the routes', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { redis: { ok: true }, s3: { ok: true } },
    });
    type Op = { requestBody?: { content: Record<string, unknown> } };
    const doc = (await fetch(`${base}/docs/json`).then((r) => r.json())) as {
      openapi: string;
      paths: Record<string, Record<string, Op>>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/images',
        '/v1/jobs',
        '/v1/images/{id}',
        '/v1/models',
        '/healthz',
        '/readyz',
      ]),
    );
    // /v1 routes declare the bearer API key; health does not.
    const security = (path: string, method: string) =>
      (doc.paths[path]?.[method] as { security?: unknown })?.security;
    expect(security('/v1/models', 'get')).toEqual([{ apiKey: [] }]);
    expect(security('/healthz', 'get')).toBeUndefined();
    // Response bodies are documented from the contracts' schemas.
    type Responses = Record<string, { content?: Record<string, { schema?: { properties?: object } }> }>;
    const imageResponses = (doc.paths['/v1/images/{id}']?.get as { responses?: Responses })?.responses;
    expect(
      Object.keys(imageResponses?.['200']?.content?.['application/json']?.schema?.properties ?? {}),
    ).toEqual(
      expect.arrayContaining(['id', 'status', 'timings', 'attemptsMade', 'result', 'error', 'links']),
    );
    expect(Object.keys(doc.paths['/v1/images']?.post?.requestBody?.content ?? {})).toContain(
      'multipart/form-data',
    );
    expect(Object.keys(doc.paths['/v1/jobs']?.post?.requestBody?.content ?? {})).toContain(
      'application/json',
    );
  });
});

describe('GET /v1/models', () => {
  it('lists the loaded models with version, task, sha256 and labels', async () => {
    const res = await fetch(`${base}/v1/models`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ models: modelInfos(MODELS) });
  });
});
