// The moderation workflow end to end (#10): the embedded stack (shared Redis, s3rver, the API in-process, a
// worker process with the real NSFW model) and a real HTTP receiver that verifies every webhook with the
// standardwebhooks library.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectTaggingCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { KeyStore } from '@labelq/access';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3ClientFor } from '@labelq/dev-services';
import { startStack, type Stack } from '../../scripts/demo/stack.ts';
import { readPhoto, repoRoot, type PhotoName } from '../fixtures/index.ts';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process.ts';
import { WebhookReceiver } from '../helpers/webhook-receiver.ts';

const MODEL = 'nsfw-mobilenet-v2';

interface Body {
  id: string;
  status: string;
  result?: {
    moderation?: { decision: string; policy: string };
    review?: { decision: string; by: string; modelDecision: string; note?: string };
    redecided?: { fromPolicy: string; fromDecision: string };
    timings: { finishedAt: string };
    source: { bucket: string; key: string };
  };
  error?: { code: string; message: string };
}

/** The fields these tests read from the workflow routes' answers. */
interface ApiBody extends Partial<Omit<Body, 'error'>> {
  error?: { code: string; message: string };
  id: string;
  secret: string;
  revision: number;
  version: string;
  previousSecretExpiresAt?: string;
  disabled: boolean;
  consecutiveFailures: number;
  webhooks: { id: string; url: string; events: string[]; disabled: boolean }[];
  deliveries: {
    status: string;
    attempt: number;
    statusCode?: number;
    latencyMs: number;
    error?: { code: string; message: string };
  }[];
  items: {
    id: string;
    decision?: string;
    modelDecision: string;
    reasons: { category: string; threshold: number }[];
    source: { bucket: string; key: string };
    links: { image: string };
  }[];
  review: { decision: string; replaced?: { decision: string } };
}

let stack: Stack;
let dir: string;
let redis: Redis;
let queue: Queue;
let s3: S3Client;
const receiver = new WebhookReceiver();
const extraWorkers: WorkerProcess[] = [];

beforeAll(async () => {
  await receiver.start();
  dir = await mkdtemp(join(tmpdir(), 'labelq-workflow-'));
  stack = await startStack(
    {
      root: repoRoot,
      s3Dir: join(dir, 's3'),
      bucket: `wf-${randomUUID().slice(0, 8)}`,
      workerLogFile: join(dir, 'worker.log'),
      env: {
        MODELS: MODEL,
        POOL_THREADS: '1',
        LOG_LEVEL: 'info',
        // The receiver only (its port): other loopback targets stay refused.
        WEBHOOK_ALLOWED_HOSTS: `127.0.0.1:${receiver.port}`,
        // The stack's tenant may send callbackUrl; any other tenant may not.
        CALLBACK_URL_TENANTS: 'default',
        // A short schedule (two retries, then dead-letter) so the test sees the whole life of a delivery.
        WEBHOOK_RETRY_SCHEDULE_MS: '200,400',
        WEBHOOK_TIMEOUT_MS: '2000',
        WEBHOOK_DISABLE_AFTER_FAILURES: '6',
        TENANT_POLICY_CACHE_MS: '0',
        LOCK_DURATION_MS: '3000',
      },
    },
    pino({ level: 'silent' }),
  );
  redis = new Redis(stack.config.redis.url, { maxRetriesPerRequest: 1 });
  queue = new Queue(stack.config.queue.name, { connection: redis, prefix: stack.config.queue.prefix });
  s3 = s3ClientFor(stack.s3.endpoint);
}, 180_000);

afterAll(async () => {
  for (const w of extraWorkers) await w.kill();
  await queue?.close();
  redis?.disconnect();
  await stack?.stop();
  await receiver.stop();
  s3?.destroy();
  await rm(dir, { recursive: true, force: true });
}, 60_000);

function auth(extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${stack.apiKey}`, ...extra };
}

async function api(
  method: string,
  path: string,
  body?: unknown,
  key = stack.apiKey,
): Promise<{ status: number; body: ApiBody }> {
  const res = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as ApiBody };
}

async function upload(
  photo: PhotoName | Buffer,
  query = '',
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Body; headers: Headers }> {
  const bytes = Buffer.isBuffer(photo) ? photo : readPhoto(photo);
  const res = await fetch(`${stack.apiUrl}/v1/images?models=${MODEL}&purpose=moderation${query}`, {
    method: 'POST',
    headers: auth({ 'content-type': 'image/jpeg', ...headers }),
    body: bytes,
  });
  return { status: res.status, body: (await res.json()) as Body, headers: res.headers };
}

/** A photo made unique (a different JPEG encoding), so each test gets a fresh image id. */
async function uniquePhoto(name: PhotoName, quality: number): Promise<Buffer> {
  const sharp = (await import('sharp')).default;
  return sharp(readPhoto(name)).jpeg({ quality }).toBuffer();
}

async function registerWebhook(path: string, events: string[]): Promise<{ id: string; secret: string }> {
  const res = await api('POST', '/v1/webhooks', { url: receiver.url(path), events });
  expect(res.status).toBe(201);
  expect(res.body.secret).toMatch(/^whsec_/);
  return res.body;
}

async function tagsOf(bucket: string, key: string): Promise<Record<string, string>> {
  const out = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
  return Object.fromEntries((out.TagSet ?? []).map((t) => [t.Key!, t.Value!]));
}

describe('wait=N', () => {
  it('answers 200 with the GET body when the job ends in time (query and Prefer header)', async () => {
    const first = await upload(await uniquePhoto('astronaut', 91), '&wait=30');
    expect(first.status).toBe(200);
    expect(first.body.status).toBe('completed');
    expect(first.body.result?.moderation?.decision).toBe('allow');
    const get = await api('GET', `/v1/images/${first.body.id}`);
    expect(get.body).toEqual(first.body);

    // A job that already finished (the duplicate) answers at once: the state is checked after subscribing.
    const again = await upload(await uniquePhoto('astronaut', 91), '', { prefer: 'respond-async, wait=5' });
    expect(again.status).toBe(200);
    expect(again.headers.get('preference-applied')).toBe('wait=5');
    expect(again.body.id).toBe(first.body.id);
  });

  it('answers 202 when the job does not end within N seconds', async () => {
    await queue.pause();
    try {
      const t0 = Date.now();
      const slow = await upload(await uniquePhoto('camera', 92), '&wait=1');
      expect(slow.status).toBe(202);
      expect(slow.body.status).toBe('queued');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    } finally {
      await queue.resume();
    }
    // Leave nothing running behind: its events would reach endpoints the next tests register.
    const done = await upload(await uniquePhoto('camera', 92), '&wait=30');
    expect(done.body.status).toBe('completed');
  });

  it.each([['&wait=31'], ['&wait=-1'], ['&wait=abc'], ['&wait=1.5']])('%s -> 400 wait_invalid', async (q) => {
    const res = await upload('coffee', q);
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('wait_invalid');
  });

  it('Prefer: wait past the cap -> 400 wait_invalid', async () => {
    const res = await upload('coffee', '', { prefer: 'wait=3600' });
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('wait_invalid');
  });
});

describe('webhook registration', () => {
  it.each([
    ['http://127.0.0.1:1/hook', 'webhook_url_forbidden'],
    ['http://10.1.2.3/hook', 'webhook_url_forbidden'],
    ['http://169.254.169.254/latest/meta-data', 'webhook_url_forbidden'],
    ['http://[::1]:8080/hook', 'webhook_url_forbidden'],
    ['http://localhost/hook', 'webhook_url_forbidden'],
    ['ftp://example.com/hook', 'webhook_url_invalid'],
    ['http://user:pw@127.0.0.1/hook', 'webhook_url_invalid'],
    ['not a url', 'webhook_url_invalid'],
  ])('%s -> 400 %s', async (url, code) => {
    const res = await api('POST', '/v1/webhooks', { url, events: ['image.completed'] });
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe(code);
  });

  it('lists endpoints without secrets, rotates and deletes', async () => {
    const created = await registerWebhook('/rotate', ['image.failed']);
    const list = await api('GET', '/v1/webhooks');
    const listed = list.body.webhooks.find((w: { id: string }) => w.id === created.id);
    expect(listed).toMatchObject({ url: receiver.url('/rotate'), events: ['image.failed'], disabled: false });
    expect(JSON.stringify(list.body)).not.toContain('whsec_');
    const rotated = await api('POST', `/v1/webhooks/${created.id}/rotate`, { overlapSeconds: 60 });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(created.secret);
    expect(rotated.body.previousSecretExpiresAt).toBeDefined();
    expect((await api('DELETE', `/v1/webhooks/${created.id}`)).status).toBe(200);
    expect((await api('GET', `/v1/webhooks/${created.id}`)).body.error?.code).toBe('webhook_not_found');
  });
});

describe('webhook delivery', () => {
  it('delivers signed events; retries then succeeds; dead-letters after the last attempt; disables after a run', async () => {
    const ok = await registerWebhook('/ok', ['image.completed']);
    receiver.on('/flaky', (n) => (n <= 2 ? 500 : 200));
    const flaky = await registerWebhook('/flaky', ['image.completed']);
    receiver.on('/dead', 500);
    const dead = await registerWebhook('/dead', ['image.completed']);

    const up = await upload(await uniquePhoto('chelsea', 93), '&wait=30');
    expect(up.status).toBe(200);
    const id = up.body.id;
    await receiver.until(
      () =>
        receiver.received.filter((r) => r.path === '/flaky' && r.status === 200).length >= 1 &&
        receiver.received.filter((r) => r.path === '/dead').length >= 3,
      30_000,
    );
    const events = receiver.verified('/ok', ok.secret);
    expect(events.filter((e) => e.type === 'image.completed' && e.data.id === id)).toHaveLength(1);
    // The same message id on every retry (receivers dedup on it).
    // (Only this image's: a job an earlier test left queued may complete while this endpoint exists.)
    const flakyIds = new Set(
      receiver
        .verified('/flaky', flaky.secret)
        .filter((e) => e.data.id === id)
        .map((e) => e.id),
    );
    expect(flakyIds.size).toBe(1);

    const flakyLog = (await api('GET', `/v1/webhooks/${flaky.id}/deliveries`)).body.deliveries;
    expect(flakyLog.map((d: { status: string }) => d.status)).toEqual(['delivered', 'retrying', 'retrying']);
    expect(flakyLog[1]).toMatchObject({ statusCode: 500, error: { code: 'webhook_delivery_failed' } });
    expect(flakyLog[0]?.latencyMs).toBeGreaterThanOrEqual(0);

    await new Promise((r) => setTimeout(r, 300));
    const deadLog = (await api('GET', `/v1/webhooks/${dead.id}/deliveries`)).body.deliveries;
    expect(deadLog.map((d: { status: string; attempt: number }) => [d.status, d.attempt])).toEqual([
      ['dead', 3],
      ['retrying', 2],
      ['retrying', 1],
    ]);
    // Dead-lettered: the delivery job stays in the webhooks queue's failed set.
    const whq = new Queue(`${stack.config.queue.name}-webhooks`, {
      connection: redis,
      prefix: stack.config.queue.prefix,
    });
    const failed = await whq.getFailed();
    expect(failed.map((j) => j.id)).toContain(`${events[0]!.id}-${dead.id}`);
    await whq.close();

    // Another event: 3 more failures reach WEBHOOK_DISABLE_AFTER_FAILURES=6 and disable the endpoint.
    await upload(await uniquePhoto('chelsea', 94), '&wait=30');
    await receiver.until(() => receiver.received.filter((r) => r.path === '/dead').length >= 6, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    const disabled = (await api('GET', `/v1/webhooks/${dead.id}`)).body;
    expect(disabled).toMatchObject({ disabled: true, consecutiveFailures: 6 });
    const enabled = await api('POST', `/v1/webhooks/${dead.id}/enable`);
    expect(enabled.body).toMatchObject({ disabled: false, consecutiveFailures: 0 });
    for (const w of [ok, flaky, dead]) await api('DELETE', `/v1/webhooks/${w.id}`);
  }, 90_000);

  it('hanging, redirecting and flooding receivers are failed per schedule, never hold a worker', async () => {
    receiver.on('/hang', () => 'hang');
    receiver.on('/redirect', () => 'redirect');
    receiver.on('/huge', () => 'huge');
    const hooks = await Promise.all(
      ['/hang', '/redirect', '/huge'].map((p) => registerWebhook(p, ['image.completed'])),
    );
    await upload(await uniquePhoto('rocket', 95), '&wait=30');
    await receiver.until(
      () => ['/hang', '/redirect'].every((p) => receiver.received.filter((r) => r.path === p).length >= 3),
      30_000,
    );
    await new Promise((r) => setTimeout(r, 2500));
    const log = async (i: number) =>
      (await api('GET', `/v1/webhooks/${hooks[i]!.id}/deliveries`)).body.deliveries;
    const hang = await log(0);
    expect(hang[0]).toMatchObject({ status: 'dead', error: { code: 'webhook_delivery_failed' } });
    expect(hang[0]?.error?.message).toMatch(/within 2000 ms/);
    const redirect = await log(1);
    expect(redirect[0]).toMatchObject({ status: 'dead', statusCode: 302 });
    expect(redirect[0]?.error?.message).toMatch(/redirects are not followed/);
    // A 2xx with a 32 MiB body: accepted by its status, the body is not read past the cap.
    const huge = await log(2);
    expect(huge[0]).toMatchObject({ status: 'delivered', statusCode: 200 });
    for (const w of hooks) await api('DELETE', `/v1/webhooks/${w.id}`);
  }, 60_000);

  it('every event arrives at least once across a worker kill -9', async () => {
    const hook = await registerWebhook('/kill', ['image.completed']);
    const victim = spawnWorker(stack.env);
    extraWorkers.push(victim);
    await victim.waitFor(/worker started/, 120_000);
    const photos = await Promise.all(
      (['astronaut', 'camera', 'chelsea', 'coffee', 'rocket'] as const).flatMap((p) => [
        uniquePhoto(p, 70),
        uniquePhoto(p, 71),
      ]),
    );
    const ids: string[] = [];
    for (const bytes of photos) ids.push((await upload(bytes)).body.id);
    // Kill the extra worker as soon as it holds a job: its jobs and deliveries are re-run by the stack's worker.
    await victim.waitFor(/image classified|reusing/, 60_000).catch(() => undefined);
    await victim.kill();
    await receiver.until(
      () => {
        const seen = new Set(receiver.verified('/kill', hook.secret).map((e) => e.data.id));
        return ids.every((id) => seen.has(id));
      },
      60_000,
      'an image.completed for every image',
    );
    await api('DELETE', `/v1/webhooks/${hook.id}`);
  }, 180_000);
});

describe('review queue and tenant policy', () => {
  it('a tenant policy sends images to review; a person decides; document, tag and webhook follow', async () => {
    const hook = await registerWebhook('/review', ['image.review_required', 'review.decided']);
    // Every image to review: Sexy >= 0 always holds.
    const put = await api('PUT', '/v1/policy', { version: 'all-review', review: { Sexy: 0 } });
    expect(put.status).toBe(200);
    expect(put.body.revision).toBeGreaterThanOrEqual(1);
    expect(put.body.version).toBe(`all-review@${put.body.revision}`);
    expect((await api('PUT', '/v1/policy', { version: 'x', review: { Sexy: 2 } })).body.error?.code).toBe(
      'invalid_request',
    );

    const up = await upload(await uniquePhoto('coffee', 96), '&wait=30');
    expect(up.status, JSON.stringify(up.body)).toBe(200);
    expect(up.body.result?.moderation, JSON.stringify(up.body.result?.moderation)).toMatchObject({
      decision: 'review',
      policy: put.body.version,
    });
    const id = up.body.id;
    const { bucket, key } = up.body.result!.source;
    expect((await tagsOf(bucket, key))['labelq:moderation']).toBe('review');

    const pending = await api('GET', '/v1/reviews?status=pending');
    const item = pending.body.items.find((i: { id: string }) => i.id === id);
    expect(item).toMatchObject({
      source: { bucket, key },
      modelDecision: 'review',
      links: { image: `/v1/images/${id}` },
    });
    expect(item?.reasons[0]).toMatchObject({ category: 'Sexy', threshold: 0 });

    const decided = await api('POST', `/v1/reviews/${id}`, { decision: 'block', note: 'not for kids' });
    expect(decided.status, JSON.stringify(decided.body)).toBe(200);
    const doc = (await api('GET', `/v1/images/${id}`)).body as Body;
    expect(doc.result?.review).toMatchObject({
      decision: 'block',
      modelDecision: 'review',
      note: 'not for kids',
    });
    expect(doc.result?.review?.by).toMatch(/^key_/);
    expect(doc.result?.moderation?.decision).toBe('review');
    expect((await tagsOf(bucket, key))['labelq:moderation']).toBe('block');
    expect(
      (await api('GET', '/v1/reviews?status=pending')).body.items.map((i: { id: string }) => i.id),
    ).not.toContain(id);
    expect((await api('GET', '/v1/reviews?status=decided')).body.items[0]).toMatchObject({
      id,
      decision: 'block',
    });

    await receiver.until(() =>
      receiver.verified('/review', hook.secret).some((e) => e.type === 'review.decided'),
    );
    const events = receiver.verified('/review', hook.secret);
    expect(events.find((e) => e.type === 'image.review_required')?.data.id).toBe(id);
    expect(events.find((e) => e.type === 'review.decided')?.data).toMatchObject({ id, decision: 'block' });

    const twice = await api('POST', `/v1/reviews/${id}`, { decision: 'allow' });
    expect([twice.status, twice.body.error?.code]).toEqual([409, 'review_already_decided']);
    const forced = await api('POST', `/v1/reviews/${id}`, { decision: 'allow', force: true });
    expect(forced.body.review).toMatchObject({ decision: 'allow', replaced: { decision: 'block' } });
    expect((await tagsOf(bucket, key))['labelq:moderation']).toBe('allow');
    await api('DELETE', `/v1/webhooks/${hook.id}`);
  }, 60_000);

  it('a policy change re-decides a stale result from its stored scores, without inference', async () => {
    const key = `sources/${randomUUID()}.jpg`;
    await s3.send(
      new PutObjectCommand({
        Bucket: stack.config.s3.bucket,
        Key: key,
        Body: readPhoto('rocket'),
        ContentType: 'image/jpeg',
      }),
    );
    const strict = (await api('PUT', '/v1/policy', { version: 'strict', review: { Sexy: 0 } })).body;
    const first = await api('POST', '/v1/jobs', { key, models: [MODEL], purpose: 'moderation' });
    expect(first.status).toBe(202);
    const id = first.body.id;
    const done = async (): Promise<Body> => {
      for (let i = 0; i < 200; i++) {
        const b = (await api('GET', `/v1/images/${id}`)).body as Body;
        if (b.status === 'completed' || b.status === 'failed') return b;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('not done');
    };
    const before = await done();
    expect(before.result?.moderation).toMatchObject({ decision: 'review', policy: strict.version });

    const relaxed = (await api('PUT', '/v1/policy', { version: 'relaxed' })).body;
    expect(relaxed.revision).toBeGreaterThan(strict.revision);
    const again = await api('POST', '/v1/jobs', { key, models: [MODEL], purpose: 'moderation', force: true });
    expect(again.status).toBe(202);
    await new Promise((r) => setTimeout(r, 300));
    const after = await done();
    expect(after.result?.moderation).toMatchObject({ decision: 'allow', policy: relaxed.version });
    expect(after.result?.redecided).toMatchObject({ fromPolicy: strict.version, fromDecision: 'review' });
    // The classification itself was not redone: same timings as the first run.
    expect(after.result?.timings.finishedAt).toBe(before.result?.timings.finishedAt);
    expect((await tagsOf(stack.config.s3.bucket, key))['labelq:moderation']).toBe('allow');
    // Back to the installation's policy.
    expect((await api('DELETE', '/v1/policy')).body.revision).toBeGreaterThan(relaxed.revision);
  }, 60_000);

  it('an image not in review -> 409 review_not_pending', async () => {
    const up = await upload(await uniquePhoto('astronaut', 97), '&wait=30');
    expect(up.body.result?.moderation?.decision).toBe('allow');
    const res = await api('POST', `/v1/reviews/${up.body.id}`, { decision: 'block' });
    expect([res.status, res.body.error?.code]).toEqual([409, 'review_not_pending']);
  }, 60_000);
});

describe('batches', () => {
  it('a finished batch sends batch.completed', async () => {
    const hook = await registerWebhook('/batch', ['batch.completed']);
    const prefix = `batch-src/${randomUUID()}/`;
    for (const name of ['astronaut', 'rocket'] as const) {
      await s3.send(
        new PutObjectCommand({
          Bucket: stack.config.s3.bucket,
          Key: `${prefix}${name}.jpg`,
          Body: readPhoto(name),
          ContentType: 'image/jpeg',
        }),
      );
    }
    const created = await api('POST', '/v1/batches', { source: { bucket: stack.config.s3.bucket, prefix } });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    await receiver.until(
      () => receiver.verified('/batch', hook.secret).length > 0,
      60_000,
      'batch.completed',
    );
    const [event] = receiver.verified('/batch', hook.secret);
    expect(event).toMatchObject({
      type: 'batch.completed',
      data: { id: created.body.id, status: 'completed' },
    });
    await api('DELETE', `/v1/webhooks/${hook.id}`);
  }, 90_000);
});

describe('live events (SSE)', () => {
  it('streams status changes until the image finishes', async () => {
    await queue.pause();
    const up = await upload(await uniquePhoto('camera', 98));
    const res = await fetch(`${stack.apiUrl}/v1/images/${up.body.id}/events`, {
      headers: auth({ accept: 'text/event-stream' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    await queue.resume();
    const text = await res.text(); // the stream ends after the final status
    const statuses = [...text.matchAll(/^data: (.*)$/gm)].map((m) => (JSON.parse(m[1]!) as Body).status);
    expect(statuses[0]).toBe('queued');
    expect(statuses.at(-1)).toBe('completed');
    expect(text).toMatch(/^event: status$/m);
    expect(text).toMatch(/^id: completed\.\d+$/m);

    // Resuming with the final state's id sends nothing new; the stream just ends.
    const lastId = [...text.matchAll(/^id: (.*)$/gm)].at(-1)![1]!;
    const resumed = await fetch(`${stack.apiUrl}/v1/images/${up.body.id}/events`, {
      headers: auth({ accept: 'text/event-stream', 'last-event-id': lastId }),
    });
    expect(await resumed.text()).not.toMatch(/^data:/m);
  }, 60_000);

  it('an unknown image -> 404', async () => {
    const res = await fetch(`${stack.apiUrl}/v1/images/${'0'.repeat(64)}/events`, {
      headers: auth({ accept: 'text/event-stream' }),
    });
    expect(res.status).toBe(404);
  });
});

describe('per-request callbackUrl', () => {
  const cbQuery = (path: string): string => `&callbackUrl=${encodeURIComponent(receiver.url(path))}`;
  const types = (path: string, secret: string, id: string): string[] =>
    receiver
      .verified(path, secret)
      .filter((e) => e.data.id === id)
      .map((e) => e.type)
      .sort();

  it('only for tenants the installation allows that turned callbacks on', async () => {
    const keys = new KeyStore(redis, { prefix: stack.config.redis.keyPrefix });
    const other = await keys.create({
      tenant: `cb-${randomUUID().slice(0, 8)}`,
      scopes: ['submit', 'admin'],
    });
    expect((await api('GET', '/v1/callbacks', undefined, other.key)).body).toMatchObject({
      allowed: false,
      enabled: false,
    });
    const refused = await api('POST', '/v1/callbacks/secret', {}, other.key);
    expect([refused.status, refused.body.error?.code]).toEqual([403, 'callback_not_allowed']);
    const job = await api('POST', '/v1/jobs', { key: 'x.jpg', callbackUrl: receiver.url('/cb') }, other.key);
    expect([job.status, job.body.error?.code]).toEqual([403, 'callback_not_allowed']);

    // Allowed, but off until the tenant creates its secret.
    await api('DELETE', '/v1/callbacks/secret');
    expect((await api('GET', '/v1/callbacks')).body).toMatchObject({ allowed: true, enabled: false });
    const off = await upload(await uniquePhoto('rocket', 90), cbQuery('/cb'));
    expect([off.status, off.body.error?.code]).toEqual([403, 'callback_not_enabled']);
  });

  it('signed with the tenant callback secret: uploads, jobs (single and bulk), failures, review, duplicates', async () => {
    const created = await api('POST', '/v1/callbacks/secret', {});
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    const secret = created.body.secret;

    // The webhook URL rules apply (400 codes), checked before anything is stored.
    for (const [url, code] of [
      ['ftp://example.com/x', 'webhook_url_invalid'],
      ['http://user:pw@example.com/x', 'webhook_url_invalid'],
      ['http://10.0.0.1/x', 'webhook_url_forbidden'],
      ['http://169.254.169.254/latest', 'webhook_url_forbidden'],
      ['http://127.0.0.1:1/x', 'webhook_url_forbidden'],
    ] as const) {
      const bad = await upload(await uniquePhoto('rocket', 90), `&callbackUrl=${encodeURIComponent(url)}`);
      expect([bad.status, bad.body.error?.code], url).toEqual([400, code]);
    }
    // Under the 2048-character limit as sent, over it once normalised (each é becomes %C3%A9): refused, since
    // the job payload could not carry it to the worker.
    const long = receiver.url(`/${'é'.repeat(600)}`);
    expect(long.length).toBeLessThan(2048);
    expect(new URL(long).toString().length).toBeGreaterThan(2048);
    const tooLong = await api('POST', '/v1/jobs', { key: 'x.jpg', callbackUrl: long });
    expect([tooLong.status, tooLong.body.error?.code]).toEqual([400, 'webhook_url_invalid']);

    // An upload: image.completed to the callback, verified with the callback secret.
    const up = await upload(await uniquePhoto('rocket', 91), `${cbQuery('/cb-upload')}&wait=30`);
    expect(up.status, JSON.stringify(up.body)).toBe(200);
    await receiver.until(() => types('/cb-upload', secret, up.body.id).length >= 1);

    // A tenant policy that sends everything to review: image.review_required too.
    await api('PUT', '/v1/policy', { version: 'cb-review', review: { Sexy: 0 } });
    let review: Awaited<ReturnType<typeof upload>>;
    try {
      review = await upload(await uniquePhoto('coffee', 92), `${cbQuery('/cb-review')}&wait=30`);
    } finally {
      await api('DELETE', '/v1/policy');
    }
    expect(review.body.result?.moderation?.decision).toBe('review');
    await receiver.until(() => types('/cb-review', secret, review.body.id).length >= 2);
    expect(types('/cb-review', secret, review.body.id)).toEqual(['image.completed', 'image.review_required']);

    // POST /v1/jobs, bulk form: one callback per item; a missing object fails and says so.
    const prefix = `cb-src/${randomUUID()}/`;
    await s3.send(
      new PutObjectCommand({
        Bucket: stack.config.s3.bucket,
        Key: `${prefix}a.jpg`,
        Body: await uniquePhoto('camera', 93),
      }),
    );
    const bulk = await fetch(`${stack.apiUrl}/v1/jobs`, {
      method: 'POST',
      headers: auth({ 'content-type': 'application/json' }),
      body: JSON.stringify([
        { key: `${prefix}a.jpg`, models: [MODEL], callbackUrl: receiver.url('/cb-jobs') },
        { key: `${prefix}missing.jpg`, models: [MODEL], callbackUrl: receiver.url('/cb-fail') },
      ]),
    });
    expect(bulk.status).toBe(202);
    const { jobs } = (await bulk.json()) as { jobs: { id: string }[] };
    await receiver.until(
      () =>
        types('/cb-jobs', secret, jobs[0]!.id).length >= 1 &&
        types('/cb-fail', secret, jobs[1]!.id).length >= 1,
    );
    expect(types('/cb-jobs', secret, jobs[0]!.id)).toEqual(['image.completed']);
    expect(types('/cb-fail', secret, jobs[1]!.id)).toEqual(['image.failed']);

    // A duplicate of a completed image: its callback is sent at once from the stored result.
    const dup = await upload(await uniquePhoto('rocket', 91), cbQuery('/cb-dup'));
    expect(dup.status).toBe(202);
    expect(dup.body).toMatchObject({ id: up.body.id, duplicate: true, status: 'completed' });
    await receiver.until(() => types('/cb-dup', secret, up.body.id).length >= 1);
    // Callbacks go to their URL only, never to another request's callback.
    expect(types('/cb-upload', secret, up.body.id)).toEqual(['image.completed']);
    // Every callback attempt is in the tenant's log: the URL it went to and what the receiver answered.
    const cbLog = (await api('GET', '/v1/callbacks/deliveries?limit=500')).body.deliveries;
    expect(cbLog).toContainEqual(
      expect.objectContaining({ url: receiver.url('/cb-upload'), status: 'delivered', statusCode: 200 }),
    );

    // A duplicate of a job still queued cannot add a callback (the first submission's applies).
    await queue.pause();
    try {
      const photo = await uniquePhoto('rocket', 94);
      const first = await upload(photo, cbQuery('/cb-first'));
      expect(first.status).toBe(202);
      // The same submission again (a client retrying after a timeout or a 503): a plain duplicate.
      const retry = await upload(photo, cbQuery('/cb-first'));
      expect([retry.status, retry.body]).toMatchObject([
        202,
        { id: first.body.id, duplicate: true, status: 'queued' },
      ]);
      const second = await upload(photo, cbQuery('/cb-second'));
      expect([second.status, second.body.error?.code]).toEqual([409, 'callback_job_in_progress']);
    } finally {
      await queue.resume();
    }
  }, 120_000);
});

describe('OpenAPI document', () => {
  it('lists the workflow and event routes under declared tags', async () => {
    type Op = { tags?: string[]; summary?: string; responses?: Record<string, { content?: object }> };
    const doc = (await fetch(`${stack.apiUrl}/docs/json`).then((r) => r.json())) as {
      tags: { name: string }[];
      paths: Record<string, Record<string, Op>>;
    };
    const expected: [string, string, string][] = [
      ['/v1/webhooks', 'post', 'webhooks'],
      ['/v1/webhooks/{id}/deliveries', 'get', 'webhooks'],
      ['/v1/callbacks/secret', 'post', 'webhooks'],
      ['/v1/callbacks/deliveries', 'get', 'webhooks'],
      ['/v1/reviews', 'get', 'reviews'],
      ['/v1/reviews/{id}', 'post', 'reviews'],
      ['/v1/policy', 'put', 'policy'],
      ['/v1/images/{id}/events', 'get', 'events'],
      ['/v1/batches/{id}/events', 'get', 'events'],
    ];
    for (const [path, method, tag] of expected) {
      const op = doc.paths[path]?.[method];
      expect(op?.tags, `${method} ${path}`).toContain(tag);
      expect(op?.summary, `${method} ${path}`).toBeTruthy();
    }
    expect(doc.paths['/v1/batches/{id}/events']?.get?.responses?.['200']?.content).toHaveProperty(
      'text/event-stream',
    );
    // Every tag a route uses is declared (with its description) at the top of the document.
    const declared = new Set(doc.tags.map((t) => t.name));
    const used = Object.values(doc.paths).flatMap((ops) => Object.values(ops).flatMap((op) => op.tags ?? []));
    expect([...new Set(used)].filter((t) => !declared.has(t))).toEqual([]);
  });
});
