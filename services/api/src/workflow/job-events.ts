import type { Config } from '@labelq/config';
import { closeQueueClients, createWorkerConnection } from '@labelq/queue';
import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** What happened to a job, as BullMQ's event stream tells it. */
export type JobEventName = 'waiting' | 'active' | 'completed' | 'failed' | 'delayed' | 'progress';

export type JobListener = (event: JobEventName) => void;

/**
 * One subscription per API process to the classify queue's event stream (BullMQ QueueEvents: a blocking
 * XREAD on its own connection), fanned out to the requests that wait on a job id (`wait=N`, SSE). A waiting
 * request is an entry in a map and a timer: it costs no CPU and no Redis command until its job moves.
 */
export class JobEventHub {
  readonly #events: QueueEvents;
  readonly #connection: Redis;
  readonly #listeners = new Map<string, Set<JobListener>>();

  constructor(config: Config, logger: Logger) {
    this.#connection = createWorkerConnection(config.redis.url);
    this.#connection.on('error', (err) => logger.debug({ err: err.message }, 'job events redis error'));
    this.#events = new QueueEvents(config.queue.name, {
      connection: this.#connection,
      prefix: config.queue.prefix,
    });
    this.#events.on('error', (err) => logger.debug({ err: err.message }, 'job events error'));
    for (const name of ['waiting', 'active', 'completed', 'failed', 'delayed', 'progress'] as const) {
      this.#events.on(name, ({ jobId }: { jobId: string }) => this.#dispatch(jobId, name));
    }
  }

  /** Resolves once the subscription reads the stream (events before this are not seen). */
  async ready(): Promise<void> {
    await this.#events.waitUntilReady();
  }

  #dispatch(jobId: string, name: JobEventName): void {
    const set = this.#listeners.get(jobId);
    if (set === undefined) return;
    for (const fn of [...set]) fn(name);
  }

  /** Calls `fn` on each event of job `id` until the returned function is called. */
  subscribe(id: string, fn: JobListener): () => void {
    let set = this.#listeners.get(id);
    if (set === undefined) this.#listeners.set(id, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.#listeners.get(id) === set) this.#listeners.delete(id);
    };
  }

  /** Requests waiting right now (for tests and metrics). */
  get waiting(): number {
    let n = 0;
    for (const s of this.#listeners.values()) n += s.size;
    return n;
  }

  /**
   * Waits until `check()` says the job is done, or `ms` pass, or `signal` aborts. The listener is registered
   * before the first check, so a job that finishes between the caller's submit and this call is never missed:
   * either the check sees it finished or its event arrives after the listener is in place. Resolves true when
   * `check()` saw it done.
   */
  async waitUntil(
    id: string,
    ms: number,
    check: () => Promise<boolean>,
    signal?: AbortSignal,
  ): Promise<boolean> {
    let wake: (() => void) | undefined;
    let pending = false;
    const unsubscribe = this.subscribe(id, (name) => {
      if (name === 'completed' || name === 'failed') {
        pending = true;
        wake?.();
      }
    });
    const deadline = Date.now() + ms;
    try {
      for (;;) {
        pending = false;
        if (await check()) return true;
        const left = deadline - Date.now();
        if (left <= 0 || signal?.aborted) return false;
        // An event that arrived during check() is handled by checking again at once.
        if (!pending) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, left);
            const onAbort = (): void => done();
            signal?.addEventListener('abort', onAbort, { once: true });
            function done(): void {
              clearTimeout(timer);
              signal?.removeEventListener('abort', onAbort);
              wake = undefined;
              resolve();
            }
            wake = done;
          });
        }
      }
    } finally {
      unsubscribe();
    }
  }

  /** Bounded, never rejects (closeQueueClients). */
  async close(): Promise<void> {
    this.#listeners.clear();
    await closeQueueClients([this.#events], [this.#connection]);
  }
}
