// Redis out of memory (noeviction) with jobs queued and a worker running (issue #15 item 8). While it lasts:
// /readyz says so, uploads and key submissions are refused with a coded 503 that names no Lua script, and a
// refused upload leaves no S3 object behind. Once memory is freed: /readyz recovers, uploads are accepted again,
// and every job accepted before, during or after ends completed, results written once.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readPhoto } from '../fixtures/index.ts';
import { countObjects, fillRedis, readyzBecomes, relieveRedis } from '../helpers/redis-oom.ts';
import { startChaosStack, type Accepted, type ChaosStack } from './stack.ts';

let stack: ChaosStack;
let admin: Redis;
beforeAll(async () => {
  stack = await startChaosStack();
  admin = new Redis(stack.redis.url);
});
afterAll(async () => {
  admin.disconnect();
  await stack.stop();
});

/** Distinct bytes per upload (a trailer after the JPEG's end marker): distinct ids. */
const upload = (n: number): Promise<Response> =>
  fetch(`${stack.api.url}/v1/images`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
    body: Buffer.concat([readPhoto('coffee'), Buffer.from(`#oom-${n}`)]),
  });

async function expectRefused(res: Response): Promise<void> {
  expect(res.status).toBe(503);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('queue_unavailable');
  expect(body.error.message).toMatch(/out of memory/);
  expect(body.error.message).not.toMatch(/[0-9a-f]{40}|user_script|script:/);
}

it('Redis out of memory: coded refusals, no orphan uploads, /readyz tells, and work resumes once freed', async () => {
  const uploads = (): Promise<number> =>
    countObjects(stack.s3.client, stack.bucket, stack.config.s3.uploadsPrefix);
  const before = await stack.submitKeys(await stack.putSources(6));
  await stack.worker();
  const more = await stack.putSources(2);

  await fillRedis(admin);
  await readyzBecomes(stack.api.url, 503);
  const ready = (await (await fetch(`${stack.api.url}/readyz`)).json()) as {
    checks: Record<string, { ok: boolean; error?: string }>;
  };
  expect(ready.checks.redis?.error).toMatch(/out of memory/);
  for (let i = 0; i < 3; i++) await expectRefused(await upload(i));
  await expectRefused(
    await fetch(`${stack.api.url}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(more.map((key) => ({ key }))),
    }),
  );
  expect(await uploads()).toBe(0);

  await relieveRedis(admin);
  await readyzBecomes(stack.api.url, 200);
  const after: Accepted[] = [];
  for (let i = 0; i < 2; i++) {
    const res = await upload(i);
    expect(res.status).toBe(202);
    after.push((await res.json()) as Accepted);
  }
  after.push(...(await stack.submitKeys(more)));
  expect(await uploads()).toBe(2);

  const states = await stack.assertNothingLost([...before, ...after].map((a) => a.id));
  expect([...states.values()].every((s) => s === 'completed')).toBe(true);
});
