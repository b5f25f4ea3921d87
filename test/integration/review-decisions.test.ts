// POST /v1/reviews/:id under contention and retries: the API started as in production (startApi) against the
// tests' Redis (a key prefix of its own) and an embedded s3rver holding result documents the policy sent to
// review. Two reviewers deciding at once: one decision is recorded, the other is refused (never silently
// replaced). A decision whose queue step failed after the document was written: the same request again
// finishes it instead of answering 409 and leaving the image pending.
import { KeyStore } from '@labelq/access';
import { startApi, type ApiServer } from '@labelq/api';
import { loadConfig, type Config } from '@labelq/config';
import { sampleResultDocument } from '@labelq/contracts/testing';
import { createObjectStore, type ObjectStore } from '@labelq/storage';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPhoto } from '../fixtures/index.ts';
import { testEnv, testRedisUrl, uniqueName } from '../helpers/env.ts';
import { startLocalS3, type LocalS3 } from '../helpers/s3.ts';

const BUCKET = 'labelq-review-decisions';
const TENANT = 'acme';
const id = (n: number): string => `img_${n.toString(16).padStart(32, 'c')}`;

let s3: LocalS3;
let store: ObjectStore;
let redis: Redis;
let config: Config;
let api: ApiServer;
const reviewers: string[] = [];

async function imageInReview(n: number): Promise<string> {
  const doc = sampleResultDocument(id(n), {
    tenant: TENANT,
    source: { bucket: BUCKET, key: `photos/${n}.jpg`, etag: `"${n}"`, bytes: 1000 },
    purpose: 'moderation',
    moderation: { decision: 'review', reasons: [], policy: 'p-1', models: ['nsfw-mobilenet-v2'] },
  });
  await store.putObject(BUCKET, doc.source.key, readPhoto('chelsea'));
  await store.putJson(BUCKET, store.resultKey(TENANT, doc.id), doc);
  await redis.zadd(`${config.redis.keyPrefix}:review:pending:${TENANT}`, 1, doc.id);
  return doc.id;
}

async function decide(
  key: string,
  image: string,
  body: Record<string, unknown>,
): Promise<{ status: number; code?: string; by?: string }> {
  const res = await fetch(`${api.url}/v1/reviews/${image}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const out = (await res.json()) as { error?: { code: string }; review?: { by: string } };
  return { status: res.status, code: out.error?.code, by: out.review?.by };
}

const pending = async (image: string): Promise<boolean> =>
  (await redis.zscore(`${config.redis.keyPrefix}:review:pending:${TENANT}`, image)) !== null;
const decided = async (image: string): Promise<boolean> =>
  (await redis.zscore(`${config.redis.keyPrefix}:review:decided:${TENANT}`, image)) !== null;

beforeAll(async () => {
  s3 = await startLocalS3([BUCKET]);
  const run = uniqueName('review-decisions');
  config = loadConfig({
    ...testEnv({
      redisUrl: testRedisUrl(),
      queueName: run,
      s3Endpoint: s3.endpoint,
      bucket: BUCKET,
      prefix: run,
    }),
    REDIS_KEY_PREFIX: run,
    LOG_LEVEL: 'silent',
  });
  store = createObjectStore(config.s3, s3.client);
  redis = new Redis(config.redis.url, { maxRetriesPerRequest: 1 });
  const keys = new KeyStore(redis, { prefix: config.redis.keyPrefix });
  for (let i = 0; i < 2; i++) reviewers.push((await keys.create({ tenant: TENANT, scopes: ['review'] })).key);
  api = await startApi(config, pino({ level: 'silent' }), {
    host: '127.0.0.1',
    port: 0,
    models: ['nsfw-mobilenet-v2'],
  });
});

afterAll(async () => {
  await api?.close();
  const left = await redis.keys(`${config.redis.keyPrefix}:*`);
  if (left.length > 0) await redis.del(...left);
  redis?.disconnect();
  await s3?.stop();
});

describe('POST /v1/reviews/:id', () => {
  it('two reviewers at once: one decision is recorded, the other is refused with a 409', async () => {
    for (let n = 1; n <= 5; n++) {
      const image = await imageInReview(n);
      const answers = await Promise.all([
        decide(reviewers[0]!, image, { decision: 'allow' }),
        decide(reviewers[1]!, image, { decision: 'block' }),
      ]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
      const refused = answers.find((a) => a.status === 409)!;
      expect(['review_in_progress', 'review_already_decided']).toContain(refused.code);
      expect(await decided(image)).toBe(true);
      expect(await pending(image)).toBe(false);
    }
  });

  it('the same decision again finishes a queue step that failed; another one is still 409', async () => {
    const image = await imageInReview(10);
    expect((await decide(reviewers[0]!, image, { decision: 'block', note: 'n' })).status).toBe(200);
    // As if Redis had failed after the document was written (the client got a 503): still listed as pending.
    await redis.zrem(`${config.redis.keyPrefix}:review:decided:${TENANT}`, image);
    await redis.zadd(`${config.redis.keyPrefix}:review:pending:${TENANT}`, 1, image);
    const retried = await decide(reviewers[0]!, image, { decision: 'block', note: 'n' });
    expect(retried.status).toBe(200);
    expect(await pending(image)).toBe(false);
    expect(await decided(image)).toBe(true);
    expect(await decide(reviewers[0]!, image, { decision: 'allow' })).toMatchObject({
      status: 409,
      code: 'review_already_decided',
    });
    expect(await decide(reviewers[1]!, image, { decision: 'block', note: 'n' })).toMatchObject({
      status: 409,
      code: 'review_already_decided',
    });
  });
});
