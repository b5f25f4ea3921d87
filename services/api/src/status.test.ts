import type { ClassifyJobData } from '@labelq/queue';
import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { readImageStatus } from './status.ts';

// No failure document in S3: the status comes from the job's failedReason alone.
const storage = { getJson: () => Promise.resolve(undefined) } as unknown as Parameters<
  typeof readImageStatus
>[2];
const failedJob = (failedReason: string) =>
  ({
    data: { submittedAt: '2026-01-01T00:00:00.000Z' },
    timestamp: 1,
    processedOn: 2,
    finishedOn: 3,
    attemptsMade: 1,
    failedReason,
  }) as unknown as Job<ClassifyJobData>;

describe('readImageStatus of a failed job', () => {
  it.each([
    ['job_stalled: The job stalled 2 times', 'job_stalled'],
    // BullMQ's own reason when it fails a job for stalling.
    ['job stalled more than allowable limit', 'job_stalled'],
    ['object_not_found: s3://b/k does not exist', 'object_not_found'],
    ['something uncoded', 'internal'],
  ])('%s -> %s', async (failedReason, code) => {
    const body = await readImageStatus(
      'obj_1',
      { job: failedJob(failedReason), status: 'failed' },
      storage,
      'k',
    );
    expect(body?.error).toEqual({ code, message: failedReason });
  });
});
