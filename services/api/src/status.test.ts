import { sampleFailureDocument, sampleResultDocument } from '@labelq/contracts/testing';
import {
  encodeFailedReason,
  objectImageId,
  type FailureDocument,
  type ResultDocument,
  type StoredJobPayload,
} from '@labelq/contracts';
import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { ApiStorage } from './deps.ts';
import { LabelqError } from '@labelq/errors';
import { readImageStatus, type DocumentLog, type JobSnapshot } from './status.ts';

const id = objectImageId('default', 'b-1', 'k.jpg', ['alpha-net']);
const result: ResultDocument = sampleResultDocument(id, {
  provenance: { labelqVersion: '0.1.0', models: [], attempt: 2 },
  timings: {
    ...sampleResultDocument(id).timings,
    startedAt: '2026-01-01T00:00:05.000Z',
    finishedAt: '2026-01-01T00:00:06.000Z',
  },
  tags: { written: false, reason: { code: 'storage_rejected', message: 'AccessDenied' } },
});
const failure: FailureDocument = sampleFailureDocument(id, {
  error: { code: 'object_not_found', message: 's3://b-1/k.jpg does not exist' },
  attemptsMade: 1,
  timings: {
    submittedAt: '2026-01-01T00:00:00.000Z',
    startedAt: '2026-01-01T00:00:05.000Z',
    finishedAt: '2026-01-01T00:00:06.000Z',
  },
});

const storageWith = (doc: unknown): ApiStorage => ({
  putObject: () => Promise.reject(new Error('not used')),
  getDocument: () => Promise.resolve(doc),
});

/** A finished BullMQ job as Redis holds it (timestamps differ from the document's on purpose). */
function snapshot(status: 'completed' | 'failed', extra: Partial<Job> = {}): JobSnapshot {
  const job = {
    // A v1 payload: the default tenant's.
    data: { v: 1, submittedAt: '2026-01-01T00:00:00.000Z' },
    timestamp: 1,
    processedOn: Date.parse('2026-01-01T00:00:04.000Z'),
    finishedOn: Date.parse('2026-01-01T00:00:07.000Z'),
    attemptsMade: 2,
    ...extra,
  } as unknown as Job<StoredJobPayload>;
  return { job, status };
}

describe('GET /v1/images/:id answers the same body from Redis and from S3', () => {
  it.each([
    ['completed (tags not written)', result, snapshot('completed', { returnvalue: result })],
    ['failed', failure, snapshot('failed', { failedReason: encodeFailedReason(failure.error) })],
  ])('%s', async (_name, doc, inRedis) => {
    const fromS3 = await readImageStatus(id, 'default', undefined, storageWith(doc));
    const fromRedis = await readImageStatus(id, 'default', inRedis, storageWith(doc));
    expect(fromRedis).toEqual(fromS3);
    expect(fromS3).toMatchObject({ id, status: doc.status, links: { self: `/v1/images/${id}` } });
  });

  it('keeps the tag outcome and derives timings and attempts from the document', async () => {
    const body = await readImageStatus(
      id,
      'default',
      snapshot('completed', { returnvalue: result }),
      storageWith(undefined),
    );
    expect(body).toEqual({
      id,
      status: 'completed',
      timings: {
        submittedAt: '2026-01-01T00:00:00.000Z',
        startedAt: '2026-01-01T00:00:05.000Z',
        finishedAt: '2026-01-01T00:00:06.000Z',
      },
      attemptsMade: 2,
      result,
      links: { self: `/v1/images/${id}` },
    });
  });

  it("answers nothing for another tenant's image, from Redis or S3 (like a missing id)", async () => {
    expect(
      await readImageStatus(id, 'acme', snapshot('completed', { returnvalue: result }), storageWith(result)),
    ).toBeUndefined();
    const tenantAware: ApiStorage = {
      putObject: () => Promise.reject(new Error('not used')),
      getDocument: (tenant) => Promise.resolve(tenant === 'default' ? result : undefined),
    };
    expect(await readImageStatus(id, 'acme', undefined, tenantAware)).toBeUndefined();
    expect(await readImageStatus(id, 'default', undefined, tenantAware)).toMatchObject({
      status: 'completed',
    });
  });

  // A 0-byte or truncated object (a PUT cut mid-body) fails to parse in storage; a parsed one can fail the schema.
  it.each<[string, ApiStorage]>([
    ['of an unknown version', storageWith({ ...result, schemaVersion: 99 })],
    ['that fails the schema', storageWith({ ...result, id: 42 })],
    [
      'that is not JSON (0 bytes)',
      {
        putObject: () => Promise.reject(new Error('not used')),
        getDocument: () => Promise.reject(new LabelqError('document_invalid', 'not valid JSON')),
      },
    ],
  ])('treats a stored document %s as absent and logs it, never a 500', async (_name, storage) => {
    const warned: unknown[] = [];
    const log = { warn: (obj: unknown) => warned.push(obj) } as unknown as DocumentLog;
    expect(await readImageStatus(id, 'default', undefined, storage, log)).toBeUndefined();
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ imageId: id, code: 'document_invalid' });
  });

  it('still propagates an S3 outage', async () => {
    const down: ApiStorage = {
      putObject: () => Promise.reject(new Error('not used')),
      getDocument: () => Promise.reject(new LabelqError('storage_unavailable')),
    };
    await expect(readImageStatus(id, 'default', undefined, down)).rejects.toMatchObject({
      code: 'storage_unavailable',
    });
  });
});

describe('a failed job without a failure document (S3 was down): the reason from BullMQ', () => {
  it.each([
    [encodeFailedReason({ code: 'job_stalled', message: 'The job stalled 2 times' }), 'job_stalled'],
    // BullMQ's own reason when it fails a job for stalling.
    ['job stalled more than allowable limit', 'job_stalled'],
    [encodeFailedReason({ code: 'object_not_found', message: 'gone' }), 'object_not_found'],
    // A reason in the form workers before the contracts wrote is not parsed back: it stays readable text.
    ['object_not_found: s3://b/k does not exist', 'internal'],
    ['Missing lock for job 1. moveToFinished', 'internal'],
  ])('%s -> %s', async (failedReason, code) => {
    const body = await readImageStatus(
      id,
      'default',
      snapshot('failed', { failedReason }),
      storageWith(undefined),
    );
    expect(body?.status).toBe('failed');
    expect(body?.error?.code).toBe(code);
    expect(body?.attemptsMade).toBe(2);
  });
});
