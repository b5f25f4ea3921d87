// The worker runtime in-process against real Redis, s3rver and the real models: S3-key ingestion (single and
// bulk), poison input, transient S3 failures, and idempotent redelivery.
import { PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import type { Config } from '@labelq/config';
import { resolveRedis, type ResolvedRedis } from '@labelq/dev-services';
import { createInferencePool, type InferencePool } from '@labelq/inference';
import {
  decodeFailedReason,
  encodeJobPayload,
  JOB_NAME,
  jobPayloadV1Schema,
  type StoredJobPayload,
} from '@labelq/contracts';
import { classifyJobOptions } from '@labelq/queue';
import { createObjectStore, type ObjectStore } from '@labelq/storage';
import { createWorkerRuntime, labelqTags, type WorkerRuntime } from '@labelq/worker';
import type { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { modelsDir, photoNames, readPhoto } from '../fixtures/index.ts';
import { testConfig, uniqueName } from '../helpers/env.ts';
import { enqueue, s3Job, testQueue, waitForJob } from '../helpers/jobs.ts';
import { startLocalS3, type LocalS3 } from '../helpers/s3.ts';
import { s3ErrorResponse, startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

const MODELS = ['coco-nanodet', 'nsfw-mobilenet-v2'];
const BUCKET = 'worker-it';

describe('worker runtime (in-process)', () => {
  let redis: ResolvedRedis;
  let s3: LocalS3;
  let pool: InferencePool;
  let inspect: ObjectStore;
  const prefix = `${uniqueName('src')}/`;
  const open: { runtime?: WorkerRuntime; queue?: Queue<StoredJobPayload>; proxy?: TcpProxy }[] = [];

  beforeAll(async () => {
    redis = await resolveRedis(process.env.REDIS_URL);
    s3 = await startLocalS3([BUCKET]);
    // One pool for all tests (the runtime does not close a pool it was given).
    pool = await createInferencePool({ modelsDir, models: MODELS, threads: 1 });
    inspect = createObjectStore(testConfig({ s3Endpoint: s3.endpoint, bucket: BUCKET }).s3, s3.client);
    for (const name of photoNames) await inspect.putObject(BUCKET, `${prefix}${name}.jpg`, readPhoto(name));
    await inspect.putObject(BUCKET, `${prefix}garbage.jpg`, Buffer.from('this is not an image at all'));
  });
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.runtime?.close();
      if (o.queue) {
        await o.queue.obliterate({ force: true });
        await o.queue.close();
      }
      await o.proxy?.close();
    }
  });
  afterAll(async () => {
    await pool.close();
    await s3.stop();
    await redis.stop();
  });

  async function start(
    extra: Record<string, string> = {},
    endpoint = s3.endpoint,
    queueName = uniqueName('wq'),
  ) {
    const config: Config = testConfig({
      redisUrl: redis.url,
      s3Endpoint: endpoint,
      bucket: BUCKET,
      queueName,
      extra: {
        WORKER_CONCURRENCY: '3',
        JOB_BACKOFF_MS: '100',
        S3_RESULTS_PREFIX: `${prefix}results/`,
        ...extra,
      },
    });
    const runtime = await createWorkerRuntime(config, {
      logger: pino({ level: process.env.TEST_LOG ?? 'silent' }),
      pool,
    });
    const queue = testQueue(config);
    open.push({ runtime, queue });
    return { config, runtime, queue };
  }

  it('classifies S3 objects, single and bulk, and writes result documents and tags', async () => {
    const { config, queue } = await start();
    const single = s3Job(BUCKET, `${prefix}astronaut.jpg`, MODELS);
    await enqueue(queue, config, [single]);
    const one = await waitForJob(queue, single.id);
    expect(one.state).toBe('completed');
    const doc = one.job.returnvalue;
    expect(doc).toMatchObject({
      status: 'completed',
      id: single.id,
      source: { bucket: BUCKET, key: single.key },
      moderation: { decision: 'allow', reasons: [] },
      provenance: { models: [{ name: 'coco-nanodet' }, { name: 'nsfw-mobilenet-v2' }] },
    });
    expect(doc.source.etag).toBe((await inspect.headObject(BUCKET, single.key))?.etag);
    const detector = doc.results.find((r) => r.model.name === 'coco-nanodet');
    expect(detector?.task === 'detect' ? detector.labels[0]?.name : undefined).toBe('person');
    expect(await inspect.getJson(BUCKET, `${prefix}results/default/${single.id}.json`)).toEqual(doc);

    const bulk = ['camera', 'chelsea', 'coffee', 'rocket'].map((n) =>
      s3Job(BUCKET, `${prefix}${n}.jpg`, MODELS),
    );
    await enqueue(queue, config, bulk);
    for (const job of bulk) {
      const { state, job: done } = await waitForJob(queue, job.id);
      expect(state).toBe('completed');
      const stored = await inspect.getJson(BUCKET, `${prefix}results/default/${job.id}.json`);
      expect(stored).toEqual(done.returnvalue);
      const tags = await inspect.getTags(BUCKET, job.key);
      expect(tags).toEqual(labelqTags(done.returnvalue, config.tags.minConfidence));
      expect(tags.find((t) => t.key === 'labelq:moderation')?.value).toBe('allow');
    }
    const chelsea = await inspect.getTags(BUCKET, `${prefix}chelsea.jpg`);
    expect(chelsea.find((t) => t.key === 'labelq:coco-nanodet')?.value).toMatch(/cat/);
  });

  it('rolling deploy: completes a v1 payload as labelq 0.1.0 queued it, and writes v1 for the default tenant', async () => {
    const { config, queue } = await start();
    const job = s3Job(BUCKET, `${prefix}chelsea.jpg`, ['nsfw-mobilenet-v2']);
    // What a 0.1.0 API put in Redis, byte for byte: no tenant, `v: 1`.
    const { tenant: _tenant, ...rest } = job;
    const v1 = jobPayloadV1Schema.strict().parse({ ...rest, v: 1 });
    await queue.add(JOB_NAME, v1, classifyJobOptions(config, job));
    const { state, job: done } = await waitForJob(queue, job.id);
    expect(state, done.failedReason).toBe('completed');
    expect(done.returnvalue).toMatchObject({
      status: 'completed',
      id: job.id,
      tenant: 'default',
      moderation: { decision: 'allow' },
    });
    // And what this release queues for the default tenant is still that v1 payload, so a 0.1.0 worker takes it.
    expect(encodeJobPayload(job)).toEqual(v1);
  });

  it("a tenant's job writes its document under the tenant's prefix and names the tenant", async () => {
    const { config, queue } = await start();
    const job = s3Job(BUCKET, `${prefix}coffee.jpg`, ['nsfw-mobilenet-v2'], 'acme');
    await enqueue(queue, config, [job]);
    const { state, job: done } = await waitForJob(queue, job.id);
    expect(state, done.failedReason).toBe('completed');
    expect(done.returnvalue.tenant).toBe('acme');
    expect(await inspect.getJson(BUCKET, `${prefix}results/acme/${job.id}.json`)).toEqual(done.returnvalue);
    expect(await inspect.getJson(BUCKET, `${prefix}results/default/${job.id}.json`)).toBeUndefined();
  });

  it('fails poison input at once with the reason code, attemptsMade 1, and a failure document', async () => {
    const { config, queue } = await start();
    const garbage = s3Job(BUCKET, `${prefix}garbage.jpg`, MODELS);
    const missing = s3Job(BUCKET, `${prefix}no-such-object.jpg`, MODELS);
    await enqueue(queue, config, [garbage, missing]);
    for (const [job, code] of [
      [garbage, 'unsupported_format'],
      [missing, 'object_not_found'],
    ] as const) {
      const { state, job: failed } = await waitForJob(queue, job.id);
      expect(state).toBe('failed');
      // The reason crosses to the API as data (JSON in BullMQ's failedReason), not a string to parse.
      const reason = decodeFailedReason(failed.failedReason);
      expect(reason.code).toBe(code);
      expect(failed.attemptsMade).toBe(1);
      const doc = await inspect.getJson(BUCKET, `${prefix}results/default/${job.id}.json`);
      expect(doc).toMatchObject({
        status: 'failed',
        id: job.id,
        error: reason,
        attemptsMade: 1,
        timings: { startedAt: expect.any(String) as string },
      });
    }
  });

  it('with a byte budget smaller than one image, jobs wait for it (re-downloading) and all complete', async () => {
    // Every image is clamped to the whole budget: one download at a time, the others take the path that
    // drops the opened GetObject and downloads again once their bytes are reserved.
    const { config, queue } = await start({
      WORKER_MAX_BYTES_IN_FLIGHT: '1000',
      S3_RESULTS_PREFIX: `${prefix}budget-results/`,
    });
    const jobs = photoNames.map((name) => ({ name, job: s3Job(BUCKET, `${prefix}${name}.jpg`, MODELS) }));
    await enqueue(
      queue,
      config,
      jobs.map((j) => j.job),
    );
    const waits: number[] = [];
    for (const { name, job } of jobs) {
      const { state, job: done } = await waitForJob(queue, job.id);
      expect(state, done.failedReason).toBe('completed');
      expect(done.returnvalue.source.etag).toBe((await inspect.headObject(BUCKET, job.key))?.etag);
      expect(done.returnvalue.source.bytes).toBe(readPhoto(name).length);
      waits.push(done.returnvalue.timings.budgetWaitMs);
    }
    expect(Math.max(...waits)).toBeGreaterThan(0);
  });

  it('retries transient S3 failures with backoff, then completes', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: s3.port });
    open.push({ proxy });
    const { config, queue } = await start({ JOB_ATTEMPTS: '5' }, proxy.endpoint);
    // The SDK makes 2 attempts per request; the attempt's first two requests (source GET and result-document
    // GET, in parallel) need 4 connections, so 3 resets fail the first job attempt for sure.
    proxy.resetNext(3);
    // A key of its own: no earlier test's result document to reuse.
    await inspect.putObject(BUCKET, `${prefix}transient/coffee.jpg`, readPhoto('coffee'));
    const job = s3Job(BUCKET, `${prefix}transient/coffee.jpg`, MODELS);
    await enqueue(queue, config, [job]);
    const { state, job: done } = await waitForJob(queue, job.id);
    expect(state).toBe('completed');
    expect(proxy.resets).toBe(3);
    expect(done.attemptsMade).toBeGreaterThanOrEqual(1);
    expect(done.returnvalue.provenance.attempt).toBeGreaterThanOrEqual(2);
  });

  it('a trickling download ends at its deadline (timeout, retried) instead of holding the job', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: s3.port });
    open.push({ proxy });
    const { config, queue } = await start(
      { JOB_ATTEMPTS: '3', S3_REQUEST_TIMEOUT_MS: '1500' },
      proxy.endpoint,
    );
    await inspect.putObject(BUCKET, `${prefix}trickle/coffee.jpg`, readPhoto('coffee'));
    // 2.5 KB/s: never idle long enough for a socket timeout, far too slow to finish within 1.5 s.
    const slow = proxy.trickleWhen(/^GET [^ ?]*trickle\/coffee\.jpg[? ]/m, { bytes: 256, everyMs: 100 });
    const job = s3Job(BUCKET, `${prefix}trickle/coffee.jpg`, MODELS);
    await enqueue(queue, config, [job]);
    await slow;
    const { state, job: done } = await waitForJob(queue, job.id);
    expect(state, done.failedReason).toBe('completed');
    expect(done.returnvalue.provenance.attempt).toBe(2);
    expect((done.stacktrace ?? []).join('\n')).toMatch(
      /"code":"timeout","message":"GetObject s3:\/\/[^ ]*trickle\/coffee\.jpg did not finish/,
    );
  });

  it('a tag write S3 refuses, or that fails on the last attempt, keeps the result: completed, tags.written false', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: s3.port });
    open.push({ proxy });
    const { config, queue } = await start({ JOB_ATTEMPTS: '1' }, proxy.endpoint);
    const tagging = /^PUT [^ ]*\?tagging/m;
    // AccessDenied: not retryable. SlowDown twice (the SDK's 2 tries): retryable, but this is the last attempt.
    for (const [name, answer, times, code] of [
      ['denied', s3ErrorResponse(403, 'AccessDenied'), 1, 'storage_rejected'],
      ['slow', s3ErrorResponse(503, 'SlowDown'), 2, 'storage_unavailable'],
    ] as const) {
      const key = `${prefix}tagfail/${name}.jpg`;
      await inspect.putObject(BUCKET, key, readPhoto('chelsea'));
      proxy.answerWhen(tagging, answer, times);
      const job = s3Job(BUCKET, key, MODELS);
      await enqueue(queue, config, [job]);
      const { state, job: done } = await waitForJob(queue, job.id);
      expect(state, done.failedReason).toBe('completed');
      expect(done.returnvalue.tags).toMatchObject({ written: false, reason: { code } });
      // The stored document records it too: the API answers the same from Redis and from S3.
      expect(await inspect.getJson(BUCKET, `${prefix}results/default/${job.id}.json`)).toEqual(
        done.returnvalue,
      );
      expect(await inspect.getTags(BUCKET, key)).toEqual([]);
    }
  });

  it('a job that stalls more than MAX_STALLED_COUNT fails with job_stalled and a failure document', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: s3.port });
    open.push({ proxy });
    const settings = { SHUTDOWN_TIMEOUT_MS: '100', LOCK_DURATION_MS: '1000', MAX_STALLED_COUNT: '0' };
    const a = await start(settings, proxy.endpoint);
    const key = `${prefix}stall/rocket.jpg`;
    await inspect.putObject(BUCKET, key, readPhoto('rocket'));
    // Worker A hangs on the download and abandons the job at its shutdown deadline: its lock expires, a stall.
    const frozen = proxy.holdWhen(/^GET [^ ?]*stall\/rocket\.jpg[? ]/m);
    const job = s3Job(BUCKET, key, MODELS);
    await enqueue(a.queue, a.config, [job]);
    await frozen;
    expect(await a.runtime.close()).toBe(false);
    proxy.release();

    // Worker B on the same queue finds it stalled once, more than MAX_STALLED_COUNT 0 allows.
    const b = await start(settings, s3.endpoint, a.config.queue.name);
    const { state, job: failed } = await waitForJob(b.queue, job.id);
    expect(state).toBe('failed');
    expect(decodeFailedReason(failed.failedReason)).toMatchObject({
      code: 'job_stalled',
      message: expect.stringMatching(/^The job stalled 1 times/) as string,
    });
    expect(failed.attemptsMade).toBe(1);
    expect(await inspect.getJson(BUCKET, `${prefix}results/default/${job.id}.json`)).toMatchObject({
      status: 'failed',
      error: { code: 'job_stalled' },
    });
  });

  it('jobs with different model sets on one object: tags commute, a redelivery changes nothing', async () => {
    const { config, queue } = await start();
    const key = `${prefix}two-sets/chelsea.jpg`;
    await inspect.putObject(BUCKET, key, readPhoto('chelsea'));
    await s3.client.send(
      new PutObjectTaggingCommand({
        Bucket: BUCKET,
        Key: key,
        Tagging: {
          TagSet: [{ Key: 'owner', Value: 'me' }],
        },
      }),
    );
    const run = async (models: string[]) => {
      const job = s3Job(BUCKET, key, models);
      await queue.remove(job.id);
      await enqueue(queue, config, [{ ...job, submittedAt: new Date().toISOString() }]);
      const { state, job: done } = await waitForJob(queue, job.id);
      expect(state, done.failedReason).toBe('completed');
      return done.returnvalue;
    };
    const detector = await run(['coco-nanodet']);
    const nsfw = await run(['nsfw-mobilenet-v2']);
    const expected = [
      { key: 'owner', value: 'me' },
      ...[...labelqTags(detector, config.tags.minConfidence), ...labelqTags(nsfw, config.tags.minConfidence)],
    ];
    const byKey = (t: { key: string }[]) => [...t].sort((x, y) => (x.key < y.key ? -1 : 1));
    const tags = await inspect.getTags(BUCKET, key);
    expect(byKey(tags)).toEqual(byKey(expected));
    expect(tags.map((t) => t.key)).toEqual([
      'owner',
      'labelq:moderation',
      'labelq:coco-nanodet',
      'labelq:nsfw-mobilenet-v2',
    ]);
    expect(tags.find((t) => t.key === 'labelq:coco-nanodet')?.value).toMatch(/cat/);
    // A redelivery of the detector job (reusing its result document) leaves the NSFW job's tags alone.
    await run(['coco-nanodet']);
    expect(await inspect.getTags(BUCKET, key)).toEqual(tags);
  });

  it('a redelivered job reuses the result document (same ETag and models): no new writes', async () => {
    const { config, queue } = await start();
    await inspect.putObject(BUCKET, `${prefix}redelivery/rocket.jpg`, readPhoto('rocket'));
    const job = s3Job(BUCKET, `${prefix}redelivery/rocket.jpg`, MODELS);
    await enqueue(queue, config, [job]);
    const first = await waitForJob(queue, job.id);
    expect(first.state).toBe('completed');
    const key = `${prefix}results/default/${job.id}.json`;
    const before = await inspect.getObjectBytes(BUCKET, key, { maxBytes: 1e6 });
    const tagsBefore = await inspect.getTags(BUCKET, job.key);
    // Redelivery: the same job again after it left Redis.
    await first.job.remove();
    await enqueue(queue, config, [{ ...job, submittedAt: new Date().toISOString() }]);
    const second = await waitForJob(queue, job.id);
    expect(second.state).toBe('completed');
    const after = await inspect.getObjectBytes(BUCKET, key, { maxBytes: 1e6 });
    expect(Buffer.from(after.bytes).equals(Buffer.from(before.bytes))).toBe(true);
    expect(second.job.returnvalue).toEqual(first.job.returnvalue);
    expect(await inspect.getTags(BUCKET, job.key)).toEqual(tagsBefore);
  });

  it('a job marked noPriorResult does not read its result key on its first start', async () => {
    const { config, queue } = await start();
    await inspect.putObject(BUCKET, `${prefix}no-prior/rocket.jpg`, readPhoto('rocket'));
    const job = s3Job(BUCKET, `${prefix}no-prior/rocket.jpg`, ['nsfw-mobilenet-v2']);
    await enqueue(queue, config, [job]);
    const first = await waitForJob(queue, job.id);
    expect(first.state).toBe('completed');
    // The same id again, marked as the API marks only ids it found nowhere: the worker does not look, so it
    // classifies again instead of reusing the document (which an unmarked redelivery reuses, test above).
    await first.job.remove();
    await enqueue(queue, config, [{ ...job, submittedAt: new Date().toISOString(), noPriorResult: true }]);
    const second = await waitForJob(queue, job.id);
    expect(second.state, second.job.failedReason).toBe('completed');
    expect(second.job.attemptsStarted).toBe(1);
    const firstDoc = first.job.returnvalue as { timings: { startedAt: string } };
    const secondDoc = second.job.returnvalue as { timings: { startedAt: string }; results: unknown };
    expect(secondDoc.timings.startedAt).not.toBe(firstDoc.timings.startedAt);
    expect(secondDoc.results).toEqual((first.job.returnvalue as { results: unknown }).results);
  });
});
