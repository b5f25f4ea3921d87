// Access control over real HTTP: API keys in the shared Redis (a unique REDIS_KEY_PREFIX), two API instances
// on one Redis (as two replicas), an embedded s3rver, no worker (jobs stay queued).
import { Writable } from 'node:stream';
import { KeyStore, OpenJobs } from '@labelq/access';
import { buildApp, createApiStorage, startApi } from '@labelq/api';
import { loadConfig, type Config } from '@labelq/config';
import type { CreatedApiKey, Scope, StoredJobPayload } from '@labelq/contracts';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPhoto } from '../fixtures/index.ts';
import { testEnv, testRedisUrl, uniqueName } from '../helpers/env.ts';
import { modelInfos } from '../helpers/models.ts';
import { startLocalS3, type LocalS3 } from '../helpers/s3.ts';

const BUCKET = 'labelq-access-test';
const PHOTOS = 'labelq-access-photos';
const SECRET_BUCKET = 'labelq-access-secret';
const RATE_LIMIT = 8;
const MAX_OPEN_JOBS = 3;

let s3: LocalS3;
let config: Config;
let redis: Redis;
let queue: Queue<StoredJobPayload>;
let keys: KeyStore;
/** Everything both API instances logged, as text. */
let logged = '';
const apps: Awaited<ReturnType<typeof buildApp>>[] = [];
let a: string;
let b: string;

async function api(): Promise<string> {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logged += chunk.toString();
      done();
    },
  });
  const app = await buildApp({
    config,
    logger: pino({ level: 'debug' }, sink),
    queue,
    storage: createApiStorage(config),
    models: modelInfos(['alpha-net']),
    keys,
    openJobs: new OpenJobs(redis, config.redis.keyPrefix),
    rateLimit: { redis, perMinute: RATE_LIMIT, prefix: config.redis.keyPrefix },
  });
  apps.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

beforeAll(async () => {
  s3 = await startLocalS3([BUCKET, PHOTOS, SECRET_BUCKET]);
  const run = uniqueName('access');
  config = loadConfig(
    testEnv({
      redisUrl: testRedisUrl(),
      queueName: run,
      s3Endpoint: s3.endpoint,
      bucket: BUCKET,
      prefix: run,
      extra: {
        REDIS_KEY_PREFIX: run,
        S3_ALLOWED_BUCKETS: `${BUCKET},${PHOTOS},${SECRET_BUCKET}`,
        TENANT_MAX_OPEN_JOBS: String(MAX_OPEN_JOBS),
      },
    }),
  );
  redis = new Redis(config.redis.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  await redis.ping().catch(() => new Promise((r) => setTimeout(r, 200)));
  queue = new Queue<StoredJobPayload>(config.queue.name, { connection: redis, prefix: config.queue.prefix });
  keys = new KeyStore(redis, { prefix: config.redis.keyPrefix });
  [a, b] = [await api(), await api()];
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await queue?.obliterate({ force: true }).catch(() => undefined);
  await queue?.close();
  const left = await redis.keys(`${config.redis.keyPrefix}:*`);
  if (left.length > 0) await redis.del(...left);
  redis?.disconnect();
  await s3?.stop();
});

const newKey = (tenant: string, scopes: Scope[], buckets?: string[]): Promise<CreatedApiKey> =>
  keys.create({ tenant, scopes, buckets });

async function call(
  base: string,
  path: string,
  key: string | undefined,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const headers = new Headers(init.headers);
  if (key !== undefined) headers.set('authorization', `Bearer ${key}`);
  const res = await fetch(`${base}${path}`, { ...init, headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

const upload = (base: string, key: string, bytes: Uint8Array) =>
  call(base, '/v1/images', key, { method: 'POST', headers: { 'content-type': 'image/jpeg' }, body: bytes });
const postJobs = (base: string, key: string, body: unknown) =>
  call(base, '/v1/jobs', key, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('authentication', () => {
  it.each([
    ['no Authorization header', undefined, 'Bearer realm="labelq"'],
    ['a malformed key', 'hello', 'Bearer realm="labelq", error="invalid_token"'],
    [
      'an unknown key',
      `lq_live_${'0'.repeat(16)}_${'a'.repeat(43)}`,
      'Bearer realm="labelq", error="invalid_token"',
    ],
  ])('answers 401 unauthenticated with WWW-Authenticate for %s', async (_name, key, challenge) => {
    for (const path of ['/v1/models', '/v1/images/img_00000000000000000000000000000000']) {
      const res = await call(a, path, key);
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ error: { code: 'unauthenticated' } });
      expect(res.headers.get('www-authenticate')).toBe(challenge);
    }
  });

  it('keeps health, readiness and the OpenAPI document open', async () => {
    for (const path of ['/healthz', '/readyz', '/docs/json']) {
      expect((await fetch(`${a}${path}`)).status).toBe(200);
    }
  });

  it('answers 403 insufficient_scope for a key without the route’s scope', async () => {
    const reader = await newKey('acme', ['read']);
    const submitter = await newKey('acme', ['submit']);
    expect((await call(a, '/v1/models', reader.key)).status).toBe(200);
    const refused = await upload(a, reader.key, readPhoto('chelsea'));
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'insufficient_scope' } } });
    const accepted = await upload(a, submitter.key, readPhoto('chelsea'));
    expect(accepted.status).toBe(202);
    const read = await call(a, `/v1/images/${String(accepted.body.id)}`, submitter.key);
    expect(read).toMatchObject({ status: 403, body: { error: { code: 'insufficient_scope' } } });
    expect((await call(a, '/v1/keys', submitter.key)).status).toBe(403);
    expect((await call(a, `/v1/images/${String(accepted.body.id)}`, reader.key)).status).toBe(200);
  });

  it('a revoked key is refused by every API instance within a second', async () => {
    const admin = await newKey('acme', ['admin']);
    const victim = await newKey('acme', ['read']);
    expect((await call(b, '/v1/models', victim.key)).status).toBe(200);
    const revoked = await call(a, `/v1/keys/${victim.id}`, admin.key, { method: 'DELETE' });
    expect(revoked).toMatchObject({
      status: 200,
      body: { id: victim.id, revokedAt: expect.any(String) as string },
    });
    const t0 = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - t0 < 1000)
      status = (await call(b, '/v1/models', victim.key)).status;
    expect(status).toBe(401);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

describe('tenants', () => {
  it('the same bytes from two tenants are two images, and neither can read the other’s', async () => {
    const acme = await newKey('acme', ['submit', 'read']);
    const globex = await newKey('globex', ['submit', 'read']);
    const bytes = readPhoto('rocket');
    const first = await upload(a, acme.key, bytes);
    const second = await upload(b, globex.key, bytes);
    expect(first).toMatchObject({ status: 202, body: { duplicate: false } });
    expect(second).toMatchObject({ status: 202, body: { duplicate: false } });
    expect(first.body.id).not.toBe(second.body.id);
    const [jobA, jobB] = await Promise.all([
      queue.getJob(String(first.body.id)),
      queue.getJob(String(second.body.id)),
    ]);
    expect(jobA?.data).toMatchObject({ tenant: 'acme', key: expect.stringContaining('/acme/') as string });
    expect(jobB?.data).toMatchObject({
      tenant: 'globex',
      key: expect.stringContaining('/globex/') as string,
    });

    expect((await call(a, `/v1/images/${String(first.body.id)}`, acme.key)).status).toBe(200);
    const foreign = await call(a, `/v1/images/${String(first.body.id)}`, globex.key);
    const missing = await call(a, '/v1/images/img_00000000000000000000000000000000', globex.key);
    // No existence oracle: another tenant's id answers exactly like an id that does not exist.
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(foreign.body.error).toMatchObject({ code: 'not_found' });
    expect(Object.keys(foreign.body)).toEqual(Object.keys(missing.body));
  });

  it('limits S3 sources to the key’s buckets and never the service’s own uploads or results', async () => {
    const scoped = await newKey('acme', ['submit'], [PHOTOS]);
    expect((await postJobs(a, scoped.key, { bucket: PHOTOS, key: 'cats/1.jpg' })).status).toBe(202);
    const other = await postJobs(a, scoped.key, { bucket: SECRET_BUCKET, key: 'cats/1.jpg' });
    expect(other).toMatchObject({ status: 403, body: { error: { code: 'bucket_not_allowed' } } });
    const wide = await newKey('acme', ['submit']);
    for (const key of [`${config.s3.uploadsPrefix}globex/x.jpg`, `${config.s3.resultsPrefix}globex/x.json`]) {
      const own = await postJobs(a, wide.key, { bucket: BUCKET, key });
      expect(own).toMatchObject({ status: 403, body: { error: { code: 'key_not_allowed' } } });
    }
  });

  it('caps a tenant’s open jobs: 429 tenant_queue_full with Retry-After, other tenants unaffected', async () => {
    const key = await newKey('initech', ['submit']);
    const items = Array.from({ length: MAX_OPEN_JOBS }, (_, i) => ({ bucket: PHOTOS, key: `cap/${i}.jpg` }));
    expect((await postJobs(a, key.key, items)).status).toBe(202);
    // A duplicate joins its job and needs no room; a new key does.
    expect((await postJobs(b, key.key, items[0])).body).toMatchObject({ duplicate: true });
    const over = await postJobs(b, key.key, { bucket: PHOTOS, key: 'cap/one-more.jpg' });
    expect(over).toMatchObject({ status: 429, body: { error: { code: 'tenant_queue_full' } } });
    expect(over.headers.get('retry-after')).toBe('30');
    expect(await new OpenJobs(redis, config.redis.keyPrefix).count('initech')).toBe(MAX_OPEN_JOBS);
    const other = await newKey('umbrella', ['submit']);
    expect((await postJobs(a, other.key, { bucket: PHOTOS, key: 'cap/one-more.jpg' })).status).toBe(202);
  });
});

describe('limits', () => {
  it('rate-limits each key across both API instances (one Redis): 429 rate_limited with Retry-After', async () => {
    const busy = await newKey('hooli', ['read']);
    const quiet = await newKey('hooli', ['read']);
    const statuses: number[] = [];
    for (let i = 0; i < RATE_LIMIT; i++)
      statuses.push((await call(i % 2 ? a : b, '/v1/models', busy.key)).status);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const over = await call(a, '/v1/models', busy.key);
    expect(over).toMatchObject({ status: 429, body: { error: { code: 'rate_limited' } } });
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await call(b, '/v1/models', busy.key)).status).toBe(429);
    // Per key, not per address: another key from the same client still gets through.
    expect((await call(b, '/v1/models', quiet.key)).status).toBe(200);
  });
});

describe('/v1/keys', () => {
  it('creates (key shown once), lists and revokes keys of the admin’s own tenant only', async () => {
    const admin = await newKey('wayne', ['admin'], [PHOTOS, BUCKET]);
    const created = await call(a, '/v1/keys', admin.key, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        scopes: ['submit', 'read'],
        buckets: [PHOTOS],
        name: 'uploader',
        expiresIn: '90d',
      }),
    });
    expect(created).toMatchObject({
      status: 201,
      body: { tenant: 'wayne', scopes: ['submit', 'read'], buckets: [PHOTOS], name: 'uploader' },
    });
    const key = String(created.body.key);
    expect(key).toMatch(/^lq_live_/);
    expect((await call(b, '/v1/models', key)).status).toBe(200);

    const listed = await call(b, '/v1/keys', admin.key);
    const list = listed.body.keys as Record<string, unknown>[];
    expect(list.map((k) => k.id).sort()).toEqual([admin.id, created.body.id].sort());
    expect(list.every((k) => k.key === undefined && k.hash === undefined)).toBe(true);

    const forOther = await call(a, '/v1/keys', admin.key, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: 'acme', scopes: ['admin'] }),
    });
    expect(forOther).toMatchObject({ status: 403, body: { error: { code: 'tenant_forbidden' } } });
    const wider = await call(a, '/v1/keys', admin.key, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ scopes: ['submit'], buckets: [SECRET_BUCKET] }),
    });
    expect(wider).toMatchObject({ status: 403, body: { error: { code: 'insufficient_scope' } } });
    const acmeKey = await newKey('acme', ['read']);
    const foreign = await call(a, `/v1/keys/${acmeKey.id}`, admin.key, { method: 'DELETE' });
    expect(foreign).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect((await call(a, '/v1/models', acmeKey.key)).status).toBe(200);
  });

  it('never writes a key or its hash to a log or a response', async () => {
    const admin = await newKey('stark', ['admin', 'read', 'submit']);
    const created = await call(a, '/v1/keys', admin.key, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ scopes: ['read'] }),
    });
    const key = String(created.body.key);
    const listed = JSON.stringify((await call(b, '/v1/keys', admin.key)).body);
    await call(a, '/v1/models', key);
    await call(b, '/v1/models', `${key.slice(0, -1)}x`);
    await upload(a, admin.key, readPhoto('coffee'));
    const hashes = await Promise.all(
      [admin.id, String(created.body.id)].map(async (id) => {
        const raw = await redis.get(`${config.redis.keyPrefix}:keys:${id}`);
        return (JSON.parse(raw!) as { hash: string }).hash;
      }),
    );
    // The log did record these requests (with the key id), just never the secrets.
    expect(logged).toContain(admin.id);
    for (const secret of [admin.key, key, ...hashes]) {
      expect(logged).not.toContain(secret);
      expect(listed).not.toContain(secret);
    }
    expect(logged).not.toMatch(/lq_live_[0-9a-f]{16}_/);
  });
});

describe('a production start', () => {
  it('refuses to run without a usable API key, and runs with AUTH_DISABLED=true (logging a warning)', async () => {
    const env = testEnv({
      redisUrl: testRedisUrl(),
      queueName: uniqueName('nokeys'),
      s3Endpoint: s3.endpoint,
      bucket: BUCKET,
      extra: { REDIS_KEY_PREFIX: uniqueName('nokeys'), MODELS: 'nsfw-mobilenet-v2' },
    });
    const options = { host: '127.0.0.1', port: 0 };
    await expect(startApi(loadConfig(env), pino({ level: 'silent' }), options)).rejects.toMatchObject({
      code: 'auth_not_configured',
    });
    let warned = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        warned += chunk.toString();
        done();
      },
    });
    const open = await startApi(
      loadConfig({ ...env, AUTH_DISABLED: 'true' }),
      pino({ level: 'warn' }, sink),
      options,
    );
    try {
      expect(warned).toContain('AUTH_DISABLED=true');
      expect((await fetch(`${open.url}/v1/models`)).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});
