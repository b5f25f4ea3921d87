import { LabelqError } from '@labelq/errors';
import { UnrecoverableError, Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { failureOutcome } from './instrument.ts';

describe('failureOutcome', () => {
  const retryable = new LabelqError('storage_unavailable', 'S3 is down');
  it.each<[string, unknown, number, number, boolean, ReturnType<typeof failureOutcome>]>([
    ['a retryable error with attempts left', retryable, 0, 3, false, 'retried'],
    ['a retryable error on the last attempt', retryable, 2, 3, false, 'failed'],
    [
      'an unrecoverable error on the first attempt',
      new UnrecoverableError('bad image'),
      0,
      3,
      false,
      'failed',
    ],
    ['anything at the shutdown deadline', retryable, 0, 3, true, 'abandoned'],
    // The circuit breaker hands the job back with BullMQ's rate-limit error: no attempt spent, nothing failed.
    ['a job handed back by the circuit breaker', Worker.RateLimitError(), 0, 3, false, 'requeued'],
    ['handed back on what would be the last attempt', Worker.RateLimitError(), 2, 3, false, 'requeued'],
  ])('%s', (_what, err, attemptsMade, attempts, abandoned, expected) => {
    expect(failureOutcome(err, attemptsMade, attempts, abandoned)).toBe(expected);
  });
});
