import { testEnv } from '../helpers/env.ts';
// With Redis down the API answers 503 queue_unavailable promptly (no offline queue), and recovers by itself.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type ApiServer } from '@labelq/api';
import { loadConfig, type Config } from '@labelq/config';
import {
  freePort,
  startRedisServer,
  startS3rver,
  type RedisServerHandle,
  type S3rverHandle,
} from '@labelq/dev-services';
import { readPhoto } from '../fixtures/index.ts';

const BUCKET = 'labelq-redis-down';
/** Far above the API's 1 s dependency deadline: a request that has not answered by then is hanging. */
const CLIENT_TIMEOUT_MS = 5000;

let s3: S3rverHandle;
let dataDir: string;
const servers: ApiServer[] = [];
const redises: RedisServerHandle[] = [];

function configFor(redisUrl: string): Config {
  const run = randomUUID().slice(0, 8);
  return loadConfig(
    testEnv({
      redisUrl,
      queueName: `redis-down-${run}`,
      s3Endpoint: s3.endpoint,
      bucket: BUCKET,
      prefix: run,
      // These tests are about Redis outages, not keys (test/integration/api-access.test.ts is).
      extra: { AUTH_DISABLED: 'true', CALLBACK_URL_TENANTS: 'default' },
    }),
  );
}

async function start(config: Config): Promise<ApiServer> {
  const server = await startApi(config, pino({ level: 'silent' }), {
    models: ['nsfw-mobilenet-v2'],
    host: '127.0.0.1',
    port: 0,
  });
  servers.push(server);
  return server;
}

interface Answer {
  status: number;
  code: string | undefined;
  body: { checks?: Record<string, { ok: boolean }> };
}

/** A request that must answer before CLIENT_TIMEOUT_MS (fetch aborts and the test fails otherwise). */
async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS) });
  const body = (await res.json()) as Answer['body'] & { error?: { code: string } };
  return { status: res.status, code: body.error?.code, body };
}

function upload(base: string, name: 'chelsea' | 'rocket' | 'coffee'): Promise<Answer> {
  const fd = new FormData();
  fd.append('file', new Blob([readPhoto(name)], { type: 'image/jpeg' }), `${name}.jpg`);
  return call(`${base}/v1/images`, { method: 'POST', body: fd });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'labelq-redis-down-'));
  s3 = await startS3rver({ dir: dataDir, buckets: [BUCKET] });
});

afterAll(async () => {
  for (const s of servers) await s.close();
  for (const r of redises) await r.stop();
  await s3?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('Redis outage', () => {
  it('answers 503 queue_unavailable while Redis is down, then recovers when it is back', async () => {
    const redis = await startRedisServer();
    redises.push(redis);
    const { url: base } = await start(configFor(redis.url));
    expect((await upload(base, 'chelsea')).status).toBe(202);

    await redis.kill('SIGKILL');
    expect(await upload(base, 'rocket')).toMatchObject({ status: 503, code: 'queue_unavailable' });
    const id = `img_${'a'.repeat(32)}`;
    expect(await call(`${base}/v1/images/${id}`)).toMatchObject({ status: 503, code: 'queue_unavailable' });
    const jobs = await call(`${base}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'x.jpg' }),
    });
    expect(jobs).toMatchObject({ status: 503, code: 'queue_unavailable' });
    // The callback routes and a submission's callbackUrl check read Redis too.
    expect(await call(`${base}/v1/callbacks`)).toMatchObject({ status: 503, code: 'queue_unavailable' });
    const secret = await call(`${base}/v1/callbacks/secret`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(secret).toMatchObject({ status: 503, code: 'queue_unavailable' });
    const off = await call(`${base}/v1/callbacks/secret`, { method: 'DELETE' });
    expect(off).toMatchObject({ status: 503, code: 'queue_unavailable' });
    const withCallback = await call(`${base}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ key: 'x.jpg', callbackUrl: 'https://example.com/cb' }]),
    });
    expect(withCallback).toMatchObject({ status: 503, code: 'queue_unavailable' });
    const ready = await call(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toMatchObject({ redis: { ok: false }, s3: { ok: true } });
    expect((await call(`${base}/healthz`)).status).toBe(200);

    // Same port again: the API reconnects on its own.
    const again = await startRedisServer({ port: redis.port });
    redises.push(again);
    let status = 0;
    for (let i = 0; i < 60 && status !== 202; i++) {
      status = (await upload(base, 'coffee')).status;
      if (status !== 202) await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(202);
  });

  it('answers 503 when Redis was never reachable since start', async () => {
    const port = await freePort();
    const { url: base } = await start(configFor(`redis://127.0.0.1:${port}`));
    expect(await upload(base, 'chelsea')).toMatchObject({ status: 503, code: 'queue_unavailable' });
    expect((await call(`${base}/readyz`)).status).toBe(503);
  });
});
