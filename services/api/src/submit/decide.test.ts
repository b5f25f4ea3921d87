import type { ImageStatus, Purpose } from '@labelq/contracts';
import { PRIORITY } from '@labelq/queue';
import { describe, expect, it } from 'vitest';
import { decide, type Decision, type Existing } from './decide.ts';

const inRedis = (status: ImageStatus, purpose: Purpose = 'tagging'): Existing => ({
  status,
  job: { priority: PRIORITY[purpose] },
});
const inS3 = (status: ImageStatus): Existing => ({ status });

const enqueue = (replace: boolean): Decision => ({ action: 'enqueue', replace });
const join = (status: ImageStatus, promote = false): Decision => ({ action: 'duplicate', status, promote });

// Known state x force x purpose -> what the submission does. One table for uploads and S3 keys alike.
describe('decide: the submit decision table', () => {
  it.each<[string, Existing | undefined, Purpose, boolean, Decision]>([
    ['new id', undefined, 'tagging', false, enqueue(false)],
    ['new id, forced', undefined, 'moderation', true, enqueue(false)],
    // Failed: always re-run (the cause may be gone); a job Redis holds is replaced first.
    ['failed in Redis', inRedis('failed'), 'tagging', false, enqueue(true)],
    ['failed in Redis, forced', inRedis('failed'), 'tagging', true, enqueue(true)],
    ['failed, only its S3 document left', inS3('failed'), 'moderation', false, enqueue(false)],
    // Completed: reused unless forced.
    ['completed in Redis', inRedis('completed'), 'tagging', false, join('completed')],
    ['completed in Redis, moderation', inRedis('completed'), 'moderation', false, join('completed')],
    ['completed in Redis, forced', inRedis('completed'), 'tagging', true, enqueue(true)],
    ['completed in S3', inS3('completed'), 'tagging', false, join('completed')],
    ['completed in S3, forced', inS3('completed'), 'tagging', true, enqueue(false)],
    // Queued: joined; a moderation resubmission of a tagging job raises its priority.
    ['queued tagging job, tagging again', inRedis('queued'), 'tagging', false, join('queued')],
    ['queued tagging job, moderation', inRedis('queued'), 'moderation', false, join('queued', true)],
    ['queued tagging job, moderation, forced', inRedis('queued'), 'moderation', true, join('queued', true)],
    [
      'queued moderation job, moderation',
      inRedis('queued', 'moderation'),
      'moderation',
      false,
      join('queued'),
    ],
    // Active: joined, never interrupted (force cannot re-run a job a worker holds); a moderation resubmission
    // still raises it, for the case it goes back to waiting (handed back by an urgent lane, stalled, retried).
    ['active', inRedis('active'), 'tagging', false, join('active')],
    ['active, forced', inRedis('active'), 'tagging', true, join('active')],
    ['active tagging job, moderation', inRedis('active'), 'moderation', false, join('active', true)],
    [
      'active moderation job, moderation',
      inRedis('active', 'moderation'),
      'moderation',
      false,
      join('active'),
    ],
  ])('%s', (_name, existing, purpose, force, expected) => {
    expect(decide(existing, { purpose, force })).toEqual(expected);
  });
});
