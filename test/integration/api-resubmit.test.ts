// Resubmissions of known ids over real HTTP, the shared Redis and an embedded s3rver. Jobs are moved through
// their states by a processor-less BullMQ worker in the test (take the job, fail or complete it), so each case
// sets up exactly the state it needs.
import { randomUUID } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { UnrecoverableError, Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '@labelq/config';
import { encodeFailedReason, type FailureReason, type StoredJobPayload } from '@labelq/contracts';
import { PRIORITY } from '@labelq/queue';
import { startApiStack, type ApiStack } from '../helpers/api-stack.ts';
import { testRedisUrl } from '../helpers/env.ts';
import { readPhoto } from '../fixtures/index.ts';
import { sampleFailureDocument, sampleResultDocument } from '@labelq/contracts/testing';

const REDIS_URL = testRedisUrl();
const BUCKET = 'labelq-resubmit-test';

let stack: ApiStack;
let s3Client: S3Client;
let config: Config;
let queue: ApiStack['queue'];
let worker: Worker<StoredJobPayload>;
let base: string;

beforeAll(async () => {
  stack = await startApiStack({ name: 'api-resubmit', buckets: [BUCKET], env: { JOB_ATTEMPTS: '1' } });
  ({ config, queue, base } = stack);
  s3Client = stack.s3.client;
  // No processor: the test takes jobs itself. Its own connection (workers block on theirs).
  worker = new Worker<StoredJobPayload>(config.queue.name, null, {
    connection: {
      host: new URL(REDIS_URL).hostname,
      port: Number(new URL(REDIS_URL).port || 6379),
      maxRetriesPerRequest: null,
    },
    prefix: config.queue.prefix,
    autorun: false,
  });
});

afterEach(async () => {
  await queue.drain(true);
});

afterAll(async () => {
  await worker?.close();
  await stack?.stop();
});

interface Accepted {
  id: string;
  status: string;
  duplicate: boolean;
  count: number;
  jobs: Accepted[];
}

async function postJobs(body: unknown): Promise<Accepted> {
  const res = await fetch(`${base}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(202);
  return (await res.json()) as Accepted;
}

async function upload(bytes: Uint8Array, purpose = 'tagging'): Promise<Accepted> {
  const res = await fetch(`${base}/v1/images?purpose=${purpose}`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
    body: bytes,
  });
  expect(res.status).toBe(202);
  return (await res.json()) as Accepted;
}

async function statusOf(id: string): Promise<string> {
  const res = await fetch(`${base}/v1/images/${id}`);
  return ((await res.json()) as { status: string }).status;
}

/** Takes the next job (it must be `id`) as a worker would and fails or completes it. */
async function finish(id: string, outcome: { fail: FailureReason } | { complete: object }): Promise<void> {
  const token = randomUUID();
  const job = await worker.getNextJob(token, { block: false });
  expect(job?.id).toBe(id);
  if ('fail' in outcome) {
    await job!.moveToFailed(new UnrecoverableError(encodeFailedReason(outcome.fail)), token, false);
  } else await job!.moveToCompleted(outcome.complete, token, false);
}

async function putDocument(id: string, doc: object): Promise<void> {
  await s3Client.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: `${config.s3.resultsPrefix}default/${id}.json`,
      Body: JSON.stringify(doc),
      ContentType: 'application/json',
    }),
  );
}

describe('POST /v1/jobs resubmissions', () => {
  it('re-runs a key that failed because its object was missing once it exists', async () => {
    const key = `late/${randomUUID()}.jpg`;
    const first = await postJobs({ key });
    expect(first).toMatchObject({ status: 'queued', duplicate: false });
    // A new id: the worker's first attempt need not look for a stored result.
    expect((await queue.getJob(first.id))?.data).toMatchObject({ noPriorResult: true });
    await finish(first.id, {
      fail: { code: 'object_not_found', message: `s3://${BUCKET}/${key} does not exist` },
    });
    expect(await statusOf(first.id)).toBe('failed');

    await s3Client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: readPhoto('chelsea') }));
    const again = await postJobs({ key });
    expect(again).toMatchObject({ id: first.id, status: 'queued', duplicate: false });
    // Really queued again (not a no-op add onto the failed job), with fresh attempts.
    const job = await queue.getJob(first.id);
    expect(await job?.getState()).toBe('prioritized');
    expect(job?.attemptsMade).toBe(0);
    // A re-run of a known id carries no hint: its worker reads the stored document.
    expect(job?.data).not.toHaveProperty('noPriorResult');
    expect(await statusOf(first.id)).toBe('queued');
  });

  it('answers a completed key as a completed duplicate, and re-runs it with force', async () => {
    const key = `done/${randomUUID()}.jpg`;
    const first = await postJobs({ key });
    await finish(first.id, { complete: sampleResultDocument(first.id) });

    const again = await postJobs([{ key }, { key: 'done/other.jpg' }]);
    expect(again.jobs[0]).toMatchObject({ id: first.id, status: 'completed', duplicate: true });
    expect(again.jobs[1]).toMatchObject({ status: 'queued', duplicate: false });
    expect(await (await queue.getJob(first.id))?.getState()).toBe('completed');

    const forced = await postJobs({ key, force: true });
    expect(forced).toMatchObject({ id: first.id, status: 'queued', duplicate: false });
    expect(await (await queue.getJob(first.id))?.getState()).toBe('prioritized');
  });

  it('uses the S3 document when the job has left Redis: failed re-runs, completed is a duplicate', async () => {
    const failedKey = `gone/${randomUUID()}.jpg`;
    const doneKey = `gone/${randomUUID()}.jpg`;
    const probe = await postJobs([{ key: failedKey }, { key: doneKey }]);
    const [failedId, doneId] = probe.jobs.map((j) => j.id) as [string, string];
    await queue.drain(true);
    await putDocument(failedId, sampleFailureDocument(failedId));
    await putDocument(doneId, sampleResultDocument(doneId));
    expect(await statusOf(failedId)).toBe('failed');

    const again = await postJobs([{ key: failedKey }, { key: doneKey }]);
    expect(again.jobs[0]).toMatchObject({ id: failedId, status: 'queued', duplicate: false });
    expect(again.jobs[1]).toMatchObject({ id: doneId, status: 'completed', duplicate: true });
    expect(await queue.getJob(failedId)).toBeDefined();
    expect(await queue.getJob(doneId)).toBeUndefined();

    const forced = await postJobs({ key: doneKey, force: true });
    expect(forced).toMatchObject({ id: doneId, status: 'queued', duplicate: false });
    // Known from S3 only: the re-run must find the document (reuse, re-decide, a person's review).
    expect((await queue.getJob(doneId))?.data).not.toHaveProperty('noPriorResult');
    expect((await queue.getJob(failedId))?.data).not.toHaveProperty('noPriorResult');
  });

  it('raises a waiting tagging job to moderation priority on a moderation resubmission', async () => {
    const key = `prio/${randomUUID()}.jpg`;
    const first = await postJobs({ key });
    expect((await queue.getJob(first.id))?.priority).toBe(PRIORITY.tagging);
    const again = await postJobs({ key, purpose: 'moderation' });
    expect(again).toMatchObject({ id: first.id, status: 'queued', duplicate: true });
    expect((await queue.getJob(first.id))?.priority).toBe(PRIORITY.moderation);
  });
});

describe('POST /v1/images resubmissions', () => {
  it('queues a failed upload again instead of answering the failure as a duplicate', async () => {
    const bytes = readPhoto('rocket');
    const first = await upload(bytes);
    await finish(first.id, { fail: { code: 'storage_unavailable', message: 'S3 was down' } });
    expect(await statusOf(first.id)).toBe('failed');

    const again = await upload(bytes);
    expect(again).toMatchObject({ id: first.id, status: 'queued', duplicate: false });
    expect(await (await queue.getJob(first.id))?.getState()).toBe('prioritized');

    // Only a failure document left (the job expired from Redis): queued again too.
    await queue.drain(true);
    await putDocument(first.id, sampleFailureDocument(first.id));
    expect(await statusOf(first.id)).toBe('failed');
    const third = await upload(bytes);
    expect(third).toMatchObject({ id: first.id, status: 'queued', duplicate: false });
    expect(await queue.getJob(first.id)).toBeDefined();

    // Completed: a duplicate, not processed again.
    await finish(first.id, { complete: sampleResultDocument(first.id) });
    const fourth = await upload(bytes);
    expect(fourth).toMatchObject({ id: first.id, status: 'completed', duplicate: true });
  });

  it('raises a waiting upload to moderation priority on a moderation duplicate', async () => {
    const bytes = readPhoto('astronaut');
    const first = await upload(bytes);
    expect((await queue.getJob(first.id))?.priority).toBe(PRIORITY.tagging);
    const again = await upload(bytes, 'moderation');
    expect(again).toMatchObject({ id: first.id, status: 'queued', duplicate: true });
    const job = await queue.getJob(first.id);
    expect(job?.priority).toBe(PRIORITY.moderation);
    expect(await job?.getState()).toBe('prioritized');
  });
});
