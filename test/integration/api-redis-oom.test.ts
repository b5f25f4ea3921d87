// The API against a Redis that is out of memory (noeviction) and at its start/stop edges (issue #15, item 8):
// /readyz says so, the 503 names no Lua script, a refused upload leaves no S3 object, and stopping the API right
// after start does not crash. A private redis-server put below its maxmemory, s3rver, real HTTP.
import type { S3Client } from '@aws-sdk/client-s3';
import { buildApp, createApiStorage, startApi } from '@labelq/api';
import { loadConfig, type Config } from '@labelq/config';
import type { StoredJobPayload } from '@labelq/contracts';
import {
  s3ClientFor,
  startRedisServer,
  startS3rver,
  type RedisServerHandle,
  type S3rverHandle,
} from '@labelq/dev-services';
import { createClassifyQueue } from '@labelq/queue';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPhoto } from '../fixtures/index.ts';
import { testEnv, uniqueName } from '../helpers/env.ts';
import { modelInfos } from '../helpers/models.ts';
import { countObjects, fillRedis, readyzBecomes, relieveRedis } from '../helpers/redis-oom.ts';

const BUCKET = 'labelq-oom-test';
const MODELS = ['nsfw-mobilenet-v2'];

describe('API and a Redis out of memory', () => {
  let redis: RedisServerHandle;
  let filler: Redis;
  let s3: S3rverHandle;
  let s3Client: S3Client;
  let dir: string;
  let config: Config;

  beforeAll(async () => {
    redis = await startRedisServer({ args: ['--maxmemory-policy', 'noeviction'] });
    filler = new Redis(redis.url);
    dir = await mkdtemp(join(tmpdir(), 'labelq-oom-'));
    s3 = await startS3rver({ dir, buckets: [BUCKET] });
    s3Client = s3ClientFor(s3.endpoint);
    config = loadConfig(
      testEnv({
        redisUrl: redis.url,
        s3Endpoint: s3.endpoint,
        bucket: BUCKET,
        queueName: uniqueName('oom'),
        prefix: uniqueName('oom'),
        extra: {
          LOG_LEVEL: 'silent',
          AUTH_DISABLED: 'true',
          REDIS_PERSISTENCE: 'off',
          API_HOST: '127.0.0.1',
          API_PORT: '0',
        },
      }),
    );
  });
  afterAll(async () => {
    filler.disconnect();
    await redis.stop();
    await s3.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Connections Redis has open right now. */
  async function clients(): Promise<number> {
    const list = (await filler.client('LIST')) as string;
    return list.split('\n').filter((line) => line.trim() !== '').length;
  }

  const uploads = (): Promise<number> => countObjects(s3Client, BUCKET, config.s3.uploadsPrefix);

  it('stopping the API right after start never crashes on a connection error and leaves no connection open', async () => {
    const baseline = await clients();
    for (let i = 0; i < 10; i++) {
      const api = await startApi(config, pino({ level: 'silent' }), { models: MODELS });
      await api.close();
    }
    // An unhandled 'error' or rejection would have failed this file (vitest reports them as errors). The close at
    // every point of a connection's setup is swept in queue-close.test.ts (the reliable reproduction).
    // Every connection the API opened (queues, event readers, webhook producer) has ended: a socket closes
    // asynchronously, so Redis may list it a moment longer.
    let open = await clients();
    for (let i = 0; i < 20 && open > baseline; i++) {
      await new Promise((r) => setTimeout(r, 100));
      open = await clients();
    }
    expect(open).toBe(baseline);
  });

  it('/readyz answers 503 while Redis is out of memory; a refused upload leaves no object; the 503 names no script', async () => {
    const api = await startApi(config, pino({ level: 'silent' }), { models: MODELS });
    // Without the open-job cap (its reservation is a Redis write that OOM refuses before the upload is
    // stored), so the enqueue itself is what fails after the object was written.
    const queue: Queue<StoredJobPayload> = createClassifyQueue(config, { url: redis.url });
    const bare = await buildApp({
      config,
      logger: pino({ level: 'silent' }),
      queue,
      storage: createApiStorage(config),
      models: modelInfos(MODELS),
    });
    const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });
    try {
      await readyzBecomes(api.url, 200);
      await fillRedis(filler);

      const ready = await fetch(`${api.url}/readyz`);
      expect(ready.status).toBe(503);
      const readyBody = (await ready.json()) as { checks: Record<string, { ok: boolean; error?: string }> };
      expect(readyBody.checks.redis?.ok).toBe(false);
      expect(readyBody.checks.redis?.error).toMatch(/out of memory/);

      for (const base of [api.url, bareUrl]) {
        const res = await fetch(`${base}/v1/images`, {
          method: 'POST',
          headers: { 'content-type': 'image/jpeg' },
          body: readPhoto('coffee'),
        });
        expect(res.status).toBe(503);
        const body = (await res.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('queue_unavailable');
        expect(body.error.message).toMatch(/out of memory/);
        expect(body.error.message).not.toMatch(/[0-9a-f]{40}|user_script|script:/);
        expect(await uploads()).toBe(0);
      }

      await relieveRedis(filler);
      await readyzBecomes(api.url, 200);
      const ok = await fetch(`${bareUrl}/v1/images`, {
        method: 'POST',
        headers: { 'content-type': 'image/jpeg' },
        body: readPhoto('coffee'),
      });
      expect(ok.status).toBe(202);
      expect(await uploads()).toBe(1);
    } finally {
      await bare.close();
      await queue.close();
      await api.close();
    }
  });

  it('refuses a body too short to hold its sniffed format (FF D8 FF is not a JPEG)', async () => {
    const api = await startApi(config, pino({ level: 'silent' }), { models: MODELS });
    try {
      const res = await fetch(`${api.url}/v1/images`, {
        method: 'POST',
        headers: { 'content-type': 'image/jpeg' },
        body: Buffer.from([0xff, 0xd8, 0xff]),
      });
      expect(res.status).toBe(422);
      const body = (await res.json()) as { error: { code: string; details: { minBytes: number } } };
      expect(body.error).toMatchObject({ code: 'image_decode_failed', details: { minBytes: 94 } });
    } finally {
      await api.close();
    }
  });
});
