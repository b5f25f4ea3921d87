// Redis out of memory on demand, for the tests that check what the API and workers do then (issue #15 item 8):
// test/integration/api-redis-oom.test.ts and the chaos scenario test/chaos/redis-oom.test.ts.
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Redis } from 'ioredis';
import { expect } from 'vitest';

const FILLER = 'labelq-test-filler:';

/**
 * Puts Redis (noeviction) out of memory: a few MB of filler, then maxmemory below what it uses. A full Redis
 * hovers at its limit and small writes slip through as memory moves; this refuses every write,
 * deterministically. `client` is the test's own connection.
 */
export async function fillRedis(client: Redis): Promise<void> {
  const value = 'x'.repeat(256 * 1024);
  for (let i = 0; i < 8; i++) await client.set(`${FILLER}${i}`, value);
  const info = await client.info('memory');
  const used = Number(/used_memory:(\d+)/.exec(info)?.[1]);
  await client.config('SET', 'maxmemory', String(Math.floor(used / 2)));
  await expect(client.set(`${FILLER}probe`, '1')).rejects.toThrow(/OOM/);
}

/** Frees what fillRedis took (its filler only: the queue's keys stay) and lifts the limit. */
export async function relieveRedis(client: Redis): Promise<void> {
  await client.config('SET', 'maxmemory', '0');
  await client.del(...Array.from({ length: 8 }, (_, i) => `${FILLER}${i}`));
}

/** Polls `${base}/readyz` until it answers `status` (a loaded machine may miss its 1 s deadline once). */
export async function readyzBecomes(base: string, status: number): Promise<void> {
  let last = 0;
  for (let i = 0; i < 40; i++) {
    last = (await fetch(`${base}/readyz`)).status;
    if (last === status) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(last).toBe(status);
}

/** Objects under `prefix` in `bucket` (at most 1000: enough to tell none from some). */
export async function countObjects(client: S3Client, bucket: string, prefix: string): Promise<number> {
  const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return listed.KeyCount ?? 0;
}
