// The services the queue variants need, with the demo's embedded defaults: Redis from REDIS_URL / 127.0.0.1:6379
// or a private redis-server, and an in-process s3rver holding the image set.
import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { resolveRedis, s3ClientFor, startS3rver, s3rverEnv } from '@labelq/dev-services';
import type { BenchImage } from './protocol.ts';
import { startTcpProxy } from '../../test/helpers/tcp-proxy.ts';
import { runBounded } from './variants/common.ts';

export const BENCH_BUCKET = 'labelq-bench';

export interface BenchServices {
  redisUrl: string;
  /** True when the bench started its own redis-server (none answered at the configured URL). */
  redisStarted: boolean;
  /** redis-server's pid when readable (same machine), for its CPU share; undefined otherwise. */
  redisPid: number | undefined;
  s3Endpoint: string;
  s3: S3Client;
  bucket: string;
  /** Config environment shared by every queue variant (each adds its queue name and results prefix). */
  baseEnv: Record<string, string>;
  stop(): Promise<void>;
}

async function redisPid(url: string): Promise<number | undefined> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const info = await client.info('server');
    const pid = /process_id:(\d+)/.exec(info)?.[1];
    return pid === undefined ? undefined : Number(pid);
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

/**
 * Redis and s3rver. With `s3LatencyMs` > 0 the variants reach s3rver through the chaos tests' TCP proxy with that
 * much latency on every answer (test/helpers/tcp-proxy.ts, setLatency): storage across a network, where AWS S3 in
 * the same region answers a small GET in ~10 to 50 ms and s3rver on localhost in ~1 ms. The bench's own uploads go
 * direct.
 */
export async function startServices(
  workDir: string,
  runId: string,
  redisUrl: string,
  s3LatencyMs = 0,
): Promise<BenchServices> {
  const redis = await resolveRedis(redisUrl);
  const dir = resolve(join(workDir, `s3rver-${runId}`));
  const s3rver = await startS3rver({ dir, buckets: [BENCH_BUCKET] });
  const s3 = s3ClientFor(s3rver.endpoint);
  const url = new URL(s3rver.endpoint);
  const proxy =
    s3LatencyMs > 0 ? await startTcpProxy({ host: url.hostname, port: Number(url.port) }) : undefined;
  proxy?.setLatency(s3LatencyMs);
  return {
    redisUrl: redis.url,
    redisStarted: redis.started,
    redisPid: await redisPid(redis.url),
    s3Endpoint: s3rver.endpoint,
    s3,
    bucket: BENCH_BUCKET,
    baseEnv: {
      REDIS_URL: redis.url,
      ...s3rverEnv(proxy?.endpoint ?? s3rver.endpoint, BENCH_BUCKET),
      S3_FORCE_PATH_STYLE: 'true',
    },
    stop: async () => {
      await proxy?.close();
      s3.destroy();
      await s3rver.stop();
      await rm(dir, { recursive: true, force: true });
      await redis.stop();
    },
  };
}

/** Uploads the images (8 at a time); throws on the first failure. */
export async function uploadImages(
  services: BenchServices,
  images: readonly BenchImage[],
  onProgress?: (done: number) => void,
): Promise<void> {
  let firstError: Error | undefined;
  await runBounded(
    images.length,
    8,
    async (i) => {
      const image = images[i]!;
      await services.s3.send(
        new PutObjectCommand({
          Bucket: services.bucket,
          Key: image.key,
          Body: await readFile(image.path),
          ContentType: 'image/jpeg',
        }),
      );
    },
    (done) => onProgress?.(done),
    (err) => (firstError ??= err instanceof Error ? err : new Error(String(err))),
  );
  if (firstError !== undefined) throw firstError;
}

/** Counts QueueEvents 'stalled' for one queue while a variant runs (stalls are seen by every listener). */
export async function watchStalls(
  redisUrl: string,
  queueName: string,
): Promise<{ count(): number; close(): Promise<void> }> {
  const events = new QueueEvents(queueName, { connection: { url: redisUrl } });
  let stalled = 0;
  events.on('stalled', () => stalled++);
  events.on('error', () => undefined);
  await events.waitUntilReady();
  return {
    count: () => stalled,
    close: () => events.close(),
  };
}

/** Removes every key of a benchmark queue. */
export async function removeQueue(redisUrl: string, queueName: string): Promise<void> {
  const queue = new Queue(queueName, { connection: { url: redisUrl } });
  try {
    await queue.obliterate({ force: true });
  } finally {
    await queue.close();
  }
}
