import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiRedis } from './redis.ts';
import { withDeadline } from './timeout.ts';

/** Blocks the event loop, as a saturated API does (hashing, parsing, copying bodies). */
function busy(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const silent = pino({ level: 'silent' });

/** The API's own connection (short command timeout, no offline queue), once it is ready. */
async function apiRedis(deadlineMs: number): Promise<Redis> {
  const redis = createApiRedis(REDIS_URL, silent, deadlineMs);
  await new Promise((resolve) => redis.once('ready', resolve));
  return redis;
}

/**
 * Keeps the loop saturated until stopped: 20 ms of work per turn, with a timer due every millisecond, so the
 * loop never sits idle for more than about a millisecond at a time (as under a flood of uploads).
 */
function saturate(): () => void {
  const interval = setInterval(() => busy(20), 1);
  return () => clearInterval(interval);
}

/** PING under a deadline of `deadlineMs`, with the loop blocked for `blockMs` right after it is sent. */
function pingWhileBlocked(redis: Redis, blockMs: number, deadlineMs: number): Promise<string> {
  return withDeadline(
    () => {
      const reply = redis.ping();
      busy(blockMs);
      return reply;
    },
    deadlineMs,
    'queue_unavailable',
    'Redis',
  );
}

let stop: (() => void) | undefined;
afterEach(() => {
  stop?.();
  stop = undefined;
});

describe('withDeadline', () => {
  it('an answer that arrived while the event loop was blocked past the deadline wins: no false outage', async () => {
    // A real Redis in another process answers while this loop is blocked.
    const redis = new Redis(REDIS_URL);
    try {
      await redis.ping();
      // PONG arrives within a millisecond; the loop is blocked for 5x the deadline.
      await expect(pingWhileBlocked(redis, 100, 20)).resolves.toBe('PONG');
    } finally {
      redis.disconnect();
    }
  });

  it("on the API's own connection too: its command timeout backs the deadline, never beats it", async () => {
    // The flood's false 503s: ioredis's commandTimeout equalled the 1 s deadline and rejected in the timers
    // phase, before the poll phase read the PONG waiting in the socket. The API's values, a loop blocked 1.2 s.
    const redis = await apiRedis(1000);
    try {
      await expect(pingWhileBlocked(redis, 1200, 1000)).resolves.toBe('PONG');
    } finally {
      redis.disconnect();
    }
  });

  it('counts only idle time against the dependency: on a saturated loop the wait goes on', async () => {
    // The answer needs turns of the busy loop (as a second round trip does), and comes after the deadline in
    // wall time; the loop was never idle meanwhile, so the dependency was never the one keeping it.
    stop = saturate();
    const answer = withDeadline(
      // 1.5x the deadline in wall time, well short of the 2x cap (room for a loaded machine's late timers).
      () => new Promise<string>((resolve) => setTimeout(() => resolve('late but fine'), 300)),
      200,
      'queue_unavailable',
      'Redis',
    );
    await expect(answer).resolves.toBe('late but fine');
  });

  it('a saturated API that cannot get an answer in time says so itself (server_busy), not that Redis is down', async () => {
    stop = saturate();
    await expect(
      withDeadline(() => new Promise(() => undefined), 50, 'queue_unavailable', 'Redis'),
    ).rejects.toMatchObject({ code: 'server_busy', status: 503, details: { retryAfterSeconds: 1 } });
  });

  it("ioredis's own command timeout on a saturated loop is server_busy, not queue_unavailable", async () => {
    const redis = await apiRedis(20);
    try {
      // Past the connection's command timeout (3 x 20 ms): ioredis gives up before the loop reads PONG.
      await expect(pingWhileBlocked(redis, 100, 20)).rejects.toMatchObject({ code: 'server_busy' });
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
