// Upload -> labels over real HTTP: the embedded stack (shared Redis, s3rver, API, a worker process with the
// real models) on the fixture photos, every request with the stack's API key.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyStore } from '@labelq/access';
import { s3ClientFor } from '@labelq/dev-services';
import { startStack, type Stack } from '../../scripts/demo/stack.ts';
import { readPhoto, repoRoot, type PhotoName } from '../fixtures/index.ts';

const MODELS = 'coco-nanodet,nsfw-mobilenet-v2';

interface Status {
  id: string;
  status: string;
  duplicate?: boolean;
  timings: { submittedAt: string | null; startedAt: string | null; finishedAt: string | null };
  result?: { results?: { model: { name: string }; labels: { name: string; confidence: number }[] }[] };
  error?: { code: string; message: string };
  links: { self: string };
}

let stack: Stack;
let dir: string;
let redis: Redis;
let queue: Queue;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'labelq-e2e-'));
  stack = await startStack(
    {
      root: repoRoot,
      s3Dir: join(dir, 's3'),
      bucket: `e2e-${randomUUID().slice(0, 8)}`,
      workerLogFile: join(dir, 'worker.log'),
      env: { MODELS, POOL_THREADS: '1', JOB_ATTEMPTS: '2', JOB_BACKOFF_MS: '100' },
    },
    pino({ level: 'silent' }),
  );
  redis = new Redis(stack.config.redis.url, { maxRetriesPerRequest: 1 });
  queue = new Queue(stack.config.queue.name, { connection: redis, prefix: stack.config.queue.prefix });
});

afterAll(async () => {
  await queue?.close();
  redis?.disconnect();
  await stack?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The stack's key (tenant default, every scope): the API answers 401 `unauthenticated` without one. */
function auth(): { authorization: string } {
  return { authorization: `Bearer ${stack.apiKey}` };
}

async function upload(name: PhotoName, fields: Record<string, string> = {}): Promise<Status> {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  fd.append('file', new Blob([readPhoto(name)], { type: 'image/jpeg' }), `${name}.jpg`);
  const res = await fetch(`${stack.apiUrl}/v1/images`, { method: 'POST', body: fd, headers: auth() });
  expect(res.status).toBe(202);
  return (await res.json()) as Status;
}

async function status(id: string): Promise<Status> {
  return (await fetch(`${stack.apiUrl}/v1/images/${id}`, { headers: auth() }).then((r) =>
    r.json(),
  )) as Status;
}

/** Polls until the job completes or fails; fails the test with the worker's output if it never does. */
async function settled(id: string, timeoutMs = 90_000): Promise<Status> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await status(id);
    if (s.status === 'completed' || s.status === 'failed') return s;
    if (Date.now() > deadline)
      throw new Error(`${id} still ${s.status}; worker output:\n${stack.worker.tail()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function labels(s: Status, model: string): string[] {
  const r = s.result?.results?.find((x) => x.model.name === model);
  return r?.labels.map((l) => l.name) ?? [];
}

describe('upload -> labels', () => {
  it('classifies an uploaded photo with every configured model, with timings and metadata', async () => {
    const accepted = await upload('coffee', { metadata: JSON.stringify({ ref: 'e2e-1' }) });
    const done = await settled(accepted.id);
    expect(done.status).toBe('completed');
    expect(labels(done, 'coco-nanodet')[0]).toBe('cup');
    expect(labels(done, 'nsfw-mobilenet-v2')[0]).toBe('Neutral');
    expect(JSON.stringify(done.result)).toContain('e2e-1');
    const t = done.timings;
    expect(Date.parse(t.submittedAt!)).toBeLessThanOrEqual(Date.parse(t.startedAt!));
    expect(Date.parse(t.startedAt!)).toBeLessThanOrEqual(Date.parse(t.finishedAt!));
  });

  it('processes a duplicate once and still answers after the job has left Redis', async () => {
    const first = await upload('chelsea');
    const done = await settled(first.id);
    expect(done.status).toBe('completed');
    const again = await upload('chelsea');
    expect(again).toMatchObject({ id: first.id, duplicate: true, status: 'completed' });

    await (await queue.getJob(first.id))!.remove();
    expect(await queue.getJob(first.id)).toBeUndefined();
    const fromS3 = await status(first.id);
    expect(fromS3.status).toBe('completed');
    expect(fromS3.result).toEqual(done.result);

    // A third upload after removal is answered from S3, not processed again.
    const third = await upload('chelsea');
    expect(third).toMatchObject({ id: first.id, duplicate: true, status: 'completed' });
    expect(await queue.getJob(first.id)).toBeUndefined();
  });

  it('classifies objects already in S3 (POST /v1/jobs), single and bulk', async () => {
    const s3 = s3ClientFor(stack.s3.endpoint);
    const bucket = stack.config.s3.bucket;
    for (const name of ['astronaut', 'rocket'] as const) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `in/${name}.jpg`, Body: readPhoto(name) }));
    }
    const post = (body: unknown) =>
      fetch(`${stack.apiUrl}/v1/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth() },
        body: JSON.stringify(body),
      });
    const single = (await (await post({ key: 'in/astronaut.jpg', purpose: 'moderation' })).json()) as Status;
    const bulk = (await (
      await post([{ key: 'in/rocket.jpg' }, { key: 'in/missing.jpg', models: ['coco-nanodet'] }])
    ).json()) as { jobs: Status[] };

    const astronaut = await settled(single.id);
    expect(astronaut.status).toBe('completed');
    expect(labels(astronaut, 'coco-nanodet')[0]).toBe('person');
    expect((await settled(bulk.jobs[0]!.id)).status).toBe('completed');
    const missing = await settled(bulk.jobs[1]!.id);
    expect(missing).toMatchObject({ status: 'failed', error: { code: 'object_not_found' } });

    // Once the object exists, resubmitting the failed key runs it again (not a no-op add onto the failed job).
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'in/missing.jpg', Body: readPhoto('coffee') }));
    const again = (await (await post({ key: 'in/missing.jpg', models: ['coco-nanodet'] })).json()) as Status;
    expect(again).toMatchObject({ id: missing.id, status: 'queued', duplicate: false });
    const found = await settled(missing.id);
    expect(found.status).toBe('completed');
    expect(labels(found, 'coco-nanodet')[0]).toBe('cup');
  });
});

describe('stop', () => {
  it('deletes everything under the run’s own REDIS_KEY_PREFIX, its API key included', async () => {
    const prefix = stack.config.redis.keyPrefix;
    expect(prefix).toMatch(/^labelq-demo-/);
    const store = new KeyStore(redis, { prefix });
    expect(await store.verify(stack.apiKey)).toMatchObject({ tenant: 'default' });
    await stack.stop();
    expect(await store.verify(stack.apiKey)).toBeUndefined();
    expect(await redis.keys(`${prefix}:*`)).toEqual([]);
  });
});
