import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { withDeadline } from './timeout.ts';

/** Blocks the event loop, as a saturated API does (hashing, parsing, copying bodies). */
function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

describe('withDeadline', () => {
  it('an answer that arrived while the event loop was blocked past the deadline wins: no false outage', async () => {
    // A real Redis in another process answers while this loop is blocked.
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    try {
      await redis.ping();
      const answer = withDeadline(
        () => {
          const reply = redis.ping();
          // PONG arrives within a millisecond; the loop is blocked for 5x the deadline.
          busy(100);
          return reply;
        },
        20,
        'queue_unavailable',
        'Redis',
      );
      await expect(answer).resolves.toBe('PONG');
    } finally {
      redis.disconnect();
    }
  });

  it('still answers the coded error when the dependency really does not answer', async () => {
    await expect(
      withDeadline(() => new Promise(() => undefined), 20, 'queue_unavailable', 'Redis'),
    ).rejects.toMatchObject({ code: 'queue_unavailable', message: 'Redis did not answer within 20 ms' });
  });
});
