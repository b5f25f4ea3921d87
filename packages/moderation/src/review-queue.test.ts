// The review queue against a real Redis (the tests' one, under a unique prefix): what each kind of result does
// to pending, decided and the entries, and the rule reviewers' access reads from the document.
import type { HumanReview, ResultDocument } from '@labelq/contracts';
import { sampleResultDocument } from '@labelq/contracts/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inReviewQueue, ReviewQueue } from './review-queue.ts';

const prefix = `labelq-test-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
const TENANT = 'acme';
let redis: Redis;
let queue: ReviewQueue;

beforeAll(() => {
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  queue = new ReviewQueue(redis, prefix);
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

let n = 0;
const newId = (): string => `img_${(++n).toString(16).padStart(32, '0')}`;

function moderated(id: string, decision: 'allow' | 'review' | 'block', over: Partial<ResultDocument> = {}) {
  return sampleResultDocument(id, {
    purpose: 'moderation',
    moderation: { decision, reasons: [], policy: 'p1', models: ['nsfw-mobilenet-v2'] },
    ...over,
  });
}

function human(decision: 'allow' | 'block'): HumanReview {
  return {
    v: 1,
    decision,
    by: 'key_1',
    at: '2026-01-01T00:01:00.000Z',
    modelDecision: 'review',
    policy: 'p1',
  };
}

async function state(id: string): Promise<{ pending: boolean; decided: boolean; entry: boolean }> {
  const [pending, decided, entry] = await Promise.all([
    redis.zscore(`${prefix}:review:pending:${TENANT}`, id),
    redis.zscore(`${prefix}:review:decided:${TENANT}`, id),
    redis.hexists(`${prefix}:review:entries:${TENANT}`, id),
  ]);
  return { pending: pending !== null, decided: decided !== null, entry: entry === 1 };
}

describe('ReviewQueue.sync', () => {
  it('files a review result once; a result never in review writes nothing', async () => {
    const id = newId();
    await queue.sync(TENANT, moderated(id, 'review'));
    await queue.sync(TENANT, moderated(id, 'review'));
    expect(await state(id)).toEqual({ pending: true, decided: false, entry: true });
    expect((await queue.list(TENANT, 'pending', 10)).items.map((e) => e.id)).toContain(id);

    const allowed = newId();
    await queue.sync(TENANT, moderated(allowed, 'allow'));
    expect(await state(allowed)).toEqual({ pending: false, decided: false, entry: false });
  });

  it('a re-decision out of review leaves pending and drops the entry', async () => {
    const id = newId();
    await queue.sync(TENANT, moderated(id, 'review'));
    await queue.sync(
      TENANT,
      moderated(id, 'allow', {
        redecided: { at: '2026-01-01T00:02:00.000Z', fromPolicy: 'p1', fromDecision: 'review' },
      }),
    );
    expect(await state(id)).toEqual({ pending: false, decided: false, entry: false });
  });

  it('a decided image keeps its entry when a fresh result without the review replaces its document', async () => {
    const id = newId();
    await queue.sync(TENANT, moderated(id, 'review'));
    await queue.decided(TENANT, moderated(id, 'review', { review: human('block') }));
    expect(await state(id)).toEqual({ pending: false, decided: true, entry: true });
    // Before, the removal dropped the entry of any result not in review, so the decided list lost the image.
    await queue.sync(TENANT, moderated(id, 'allow'));
    expect(await state(id)).toEqual({ pending: false, decided: true, entry: true });
    const decided = await queue.list(TENANT, 'decided', 10);
    expect(decided.items.find((e) => e.id === id)).toMatchObject({ decision: 'block', decidedBy: 'key_1' });
  });
});

describe('inReviewQueue', () => {
  it.each([
    ['allow', undefined, undefined, false],
    ['block', undefined, undefined, false],
    ['review', undefined, undefined, true],
    ['review', human('allow'), undefined, true],
    // A person's decision stays after a policy change re-decided the model's.
    ['block', human('allow'), undefined, true],
    // Re-decided out of review before anyone decided: neither pending nor decided.
    ['allow', undefined, { at: 't', fromPolicy: 'p0', fromDecision: 'review' as const }, false],
  ] as const)('model %s, person %j, redecided %j -> %s', (decision, review, redecided, expected) => {
    const doc = moderated(newId(), decision, {
      ...(review !== undefined ? { review } : {}),
      ...(redecided !== undefined ? { redecided } : {}),
    });
    expect(inReviewQueue(doc)).toBe(expected);
  });

  it('a result without moderation was never in review', () => {
    expect(inReviewQueue(sampleResultDocument(newId()))).toBe(false);
  });
});
