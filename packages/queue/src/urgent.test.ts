import { describe, expect, it } from 'vitest';
import { PRIORITY } from './job.ts';
import { isUrgentJob, isUrgentPriority, priorityOfScore } from './urgent.ts';

describe('urgent jobs', () => {
  it('moderation priority is urgent; tagging, batch items and no priority are not', () => {
    expect(isUrgentPriority(PRIORITY.moderation)).toBe(true);
    expect(isUrgentPriority(PRIORITY.tagging)).toBe(false);
    expect(isUrgentPriority(20)).toBe(false);
    expect(isUrgentPriority(0)).toBe(false);
    // A tagging job raised by a moderation submission (changePriority) is urgent from then on.
    expect(isUrgentJob({ priority: PRIORITY.moderation })).toBe(true);
  });

  it('reads the priority back from a prioritized-set score (priority * 2^32 + counter)', () => {
    const score = (priority: number, counter: number): number => priority * 0x100000000 + counter;
    expect(priorityOfScore(score(PRIORITY.moderation, 1))).toBe(PRIORITY.moderation);
    expect(priorityOfScore(score(PRIORITY.moderation, 0xffffffff))).toBe(PRIORITY.moderation);
    // A job handed back to the queue keeps its priority with counter 0 (front of its priority).
    expect(priorityOfScore(score(PRIORITY.tagging, 0))).toBe(PRIORITY.tagging);
    expect(priorityOfScore(score(2_097_151, 12345))).toBe(2_097_151);
  });
});
