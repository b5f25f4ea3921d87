import type { Redis } from 'ioredis';

/** What a safe close needs of a BullMQ Queue, Worker or QueueEvents. */
export interface QueueClient {
  waitUntilReady(): Promise<unknown>;
  close(): Promise<void>;
}

export interface CloseBounds {
  /** How long the connection setups may take to settle after the disconnect. Default 1000 ms. */
  readyMs?: number;
  /** How long each close may take. Default 2000 ms. */
  closeMs?: number;
}

/** Waits for `work` to settle (ignoring its outcome), at most `ms`. */
export async function settleWithin(work: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (work === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.then(
      () => undefined,
      () => undefined,
    ),
    new Promise((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}

/**
 * Closes BullMQ producers and event readers and the ioredis connections they were given, for a process or
 * component that stops (nothing of theirs is still in flight). Never throws; every wait is bounded.
 *
 * The order is what makes it safe. BullMQ's close() drops the object's listeners at once, even while its
 * connection setup (the ready check, then BullMQ's own INFO on a shared connection) is still running; when that
 * setup then fails because the connection was closed, BullMQ emits `error` with no listener, and the process
 * gets an unhandled rejection "Connection is closed" (seen in CI: an API stopped right after it started). So:
 * the connections are dropped first, each setup is left to settle (fail) while the objects still listen, and
 * only then are they closed. The waits are bounded because a client disconnected while reconnecting emits
 * nothing more (its setup never settles, nor fails later), and a close can wait forever for a Redis that never
 * answers. Closes run side by side, so one that hangs does not leave the others open.
 *
 * `connections` are the ones to end now; one still needed by others is left out (and ended by its owner later):
 * the setups are still waited for before close(), so its later end fails nothing that lost its listeners.
 * Consumers with work in flight (a Worker) close gracefully first, then come here.
 */
export async function closeQueueClients(
  clients: readonly QueueClient[],
  connections: readonly Redis[],
  bounds: CloseBounds = {},
): Promise<void> {
  for (const connection of connections) connection.disconnect();
  await settleWithin(Promise.allSettled(clients.map((c) => c.waitUntilReady())), bounds.readyMs ?? 1000);
  await Promise.all(clients.map((c) => settleWithin(c.close(), bounds.closeMs ?? 2000)));
}
