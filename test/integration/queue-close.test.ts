// closeQueueClients (packages/queue) against the real Redis: BullMQ objects closed at every point of their
// connection setup (a sweep of event-loop turns after they were built, as a process stopped right after start
// does), after it, and with Redis unreachable. Each close resolves within its bounds, ends the connections it
// was given and leaves no unhandled rejection. The sweep is the reproduction of the CI flake (an unhandled
// "Connection is closed" from an API stopped right after start): BullMQ's own order there (close(), then
// disconnect) left one in five of these closes with that rejection; this order leaves none.
import { freePort } from '@labelq/dev-services';
import { closeQueueClients, createWorkerConnection, type QueueClient } from '@labelq/queue';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRedisUrl, uniqueName } from '../helpers/env.ts';

const BOUNDS = { readyMs: 1000, closeMs: 2000 };
/**
 * A guard against a hang, not a speed check: a close that ignored its bounds would wait forever (an unreachable
 * Redis, a setup that never settles). Three times the bounds leaves room for a loaded CI machine.
 */
const HANG_GUARD_MS = (BOUNDS.readyMs + BOUNDS.closeMs) * 3;
/** Time for a late setup failure to surface as an unhandled rejection. */
const GRACE_MS = 300;

const unhandled: unknown[] = [];
const record = (reason: unknown): void => void unhandled.push(reason);
beforeAll(() => void process.on('unhandledRejection', record));
afterAll(() => void process.off('unhandledRejection', record));

/** Event-loop turns swept between building the objects and closing them: the whole setup on a loaded machine. */
const TURNS = 40;

/**
 * Builds `build(connection)` on a fresh connection and closes it `turns` event-loop turns later (or once set up);
 * returns how long the close took and whether the connection then ended.
 */
async function closeAfter(
  turns: number | 'setup',
  url: string,
  build: (connection: Redis) => QueueClient[],
): Promise<{ ms: number; ended: boolean }> {
  const connection = createWorkerConnection(url);
  connection.on('error', () => undefined);
  const clients = build(connection);
  if (turns === 'setup') await Promise.all(clients.map((c) => c.waitUntilReady()));
  else for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
  const started = Date.now();
  await closeQueueClients(clients, [connection], BOUNDS);
  const ms = Date.now() - started;
  return { ms, ended: await endedWithin(connection, 5000) };
}

/** Whether `connection` reaches `end` (its socket closed, no reconnect) within `ms`. */
async function endedWithin(connection: Redis, ms: number): Promise<boolean> {
  if (connection.status === 'end') return true;
  let timer: NodeJS.Timeout | undefined;
  const ended = await Promise.race([
    new Promise<boolean>((resolve) => connection.once('end', () => resolve(true))),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  return ended;
}

/** Time for a late setup failure to surface as an unhandled rejection. */
const settle = (): Promise<unknown> => new Promise((r) => setTimeout(r, GRACE_MS));

function queues(n: number): (connection: Redis) => QueueClient[] {
  return (connection) =>
    Array.from({ length: n }, () => {
      const q = new Queue(uniqueName('close'), { connection, prefix: uniqueName('close') });
      q.on('error', () => undefined);
      return q;
    });
}

function queueEvents(connection: Redis): QueueClient[] {
  const events = new QueueEvents(uniqueName('close'), { connection, prefix: uniqueName('close') });
  events.on('error', () => undefined);
  return [events];
}

describe('closeQueueClients', () => {
  it('closes queues sharing one connection at any point of their setup: bounded, ended, nothing unhandled', async () => {
    for (let turns = 0; turns < TURNS * 2; turns++) {
      const { ms, ended } = await closeAfter(turns % TURNS, testRedisUrl(), queues(2));
      expect(ms).toBeLessThan(HANG_GUARD_MS);
      expect(ended).toBe(true);
    }
    await settle();
    expect(unhandled).toEqual([]);
  });

  it('closes queues after their setup: ended, nothing unhandled', async () => {
    const { ms, ended } = await closeAfter('setup', testRedisUrl(), queues(2));
    expect(ms).toBeLessThan(HANG_GUARD_MS);
    expect(ended).toBe(true);
    await settle();
    expect(unhandled).toEqual([]);
  });

  it('closes an event reader at any point of its setup: bounded, nothing unhandled', async () => {
    for (const turns of [0, 1, 3, 10, 'setup'] as const) {
      const { ms } = await closeAfter(turns, testRedisUrl(), queueEvents);
      expect(ms).toBeLessThan(HANG_GUARD_MS);
    }
    await settle();
    expect(unhandled).toEqual([]);
  });

  it('returns within its bounds when Redis is unreachable, and ends the connection', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const { ms, ended } = await closeAfter(0, url, queues(2));
    expect(ms).toBeLessThan(HANG_GUARD_MS);
    expect(ended).toBe(true);
    await settle();
    expect(unhandled).toEqual([]);
  });
});
