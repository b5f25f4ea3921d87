import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, pingRedis, resolveRedis, s3ClientFor, startRedisServer, startS3rver } from './index.ts';

describe('dev-services', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('freePort returns a bindable port', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
  });

  it('starts a private redis-server with extra args, kills and stops it', async () => {
    const redis = await startRedisServer({ args: ['--maxmemory-policy', 'allkeys-lru'] });
    cleanups.push(() => redis.stop());
    expect(await pingRedis(redis.url)).toBe(true);
    await redis.kill('SIGKILL');
    expect(await pingRedis(redis.url, 300)).toBe(false);
    // Restart on the same port, as tests that simulate a Redis outage do.
    const again = await startRedisServer({ port: redis.port });
    cleanups.push(() => again.stop());
    expect(await pingRedis(again.url)).toBe(true);
    await again.stop();
    expect(await pingRedis(again.url, 300)).toBe(false);
  });

  it('resolveRedis starts a server when the given url does not answer', async () => {
    const port = await freePort();
    const resolved = await resolveRedis(`redis://127.0.0.1:${port}`);
    cleanups.push(() => resolved.stop());
    expect(resolved.started).toBe(true);
    expect(resolved.url).not.toBe(`redis://127.0.0.1:${port}`);
    expect(await pingRedis(resolved.url)).toBe(true);
  });

  it('s3rver with s3ClientFor round-trips a streamed upload byte for byte', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'labelq-s3rver-'));
    const s3 = await startS3rver({ dir, buckets: ['dev-bucket'] });
    cleanups.push(async () => {
      await s3.stop();
      await rm(dir, { recursive: true, force: true });
    });
    const client = s3ClientFor(s3.endpoint);
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
    await client.send(
      new PutObjectCommand({
        Bucket: 'dev-bucket',
        Key: 'streamed.bin',
        Body: Readable.from([bytes.subarray(0, 30_000), bytes.subarray(30_000)]),
        ContentLength: bytes.length,
      }),
    );
    const got = await client.send(new GetObjectCommand({ Bucket: 'dev-bucket', Key: 'streamed.bin' }));
    const back = Buffer.from(await got.Body!.transformToByteArray());
    expect(back.equals(bytes)).toBe(true);
    client.destroy();
  });
});
