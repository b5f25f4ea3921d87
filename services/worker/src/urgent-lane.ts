import type { ResultDocument, StoredJobPayload } from '@labelq/contracts';
import { isUrgentJob, settleWithin, urgentHintsKey, urgentJobIsNext } from '@labelq/queue';
import { Worker, type Job, type QueueBase, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** How long a lane waits for a hint before it looks at the queue anyway (urgent jobs back from a retry or a stall). */
const LOOK_EVERY_S = 1;

/**
 * How long a forced close waits for the lane's loop and its BullMQ worker. During a Redis outage both can wait
 * forever (the shared connection has maxRetriesPerRequest: null, so a look or a fetch waits for Redis to return);
 * a forced close abandons them, as it abandons running jobs.
 */
const FORCED_CLOSE_MS = 2000;

/**
 * Gives a job the lane fetched but must not run (a tagging job: it lost the race to a main worker) back to the
 * queue unrun: `moveToWait` puts it at the front of its priority and the attempt does not count. Tried twice (a
 * failure left alone would hold the job until its lock expires and the stalled check moves it). Then BullMQ's
 * wake-up marker, which moveToWait does not add for a prioritized job: without it an idle main worker would
 * notice the job only after its drainDelay (5 s). The marker is what BullMQ's own scripts add
 * (includes/addBaseMarkerIfNeeded); on a paused queue it wakes a worker for nothing, which is harmless.
 */
export async function handBack(
  job: Job<StoredJobPayload>,
  token: string,
  connection: Redis,
  queue: Pick<QueueBase, 'toKey'>,
): Promise<void> {
  await job.moveToWait(token).catch(() => job.moveToWait(token));
  await connection.zadd(queue.toKey('marker'), 0, '0');
}

/**
 * A BullMQ worker whose jobs the lane fetches itself. `run()` starts lock renewal together with BullMQ's fetch
 * loop; the lane never runs that loop, so it starts the renewal alone (protected API, meant for subclasses).
 */
class LaneWorker extends Worker<StoredJobPayload, ResultDocument> {
  startLockRenewal(): void {
    this.lockManager.start();
  }
}

export interface UrgentLaneOptions {
  /** Job slots: urgent jobs this lane runs at once (WORKER_URGENT_CONCURRENCY, > 0). */
  slots: number;
  queueName: string;
  /** The main worker's options (connection, prefix, lock duration, backoff); the lane skips the stalled check. */
  workerOptions: WorkerOptions;
  /** The worker's connection, for the lane's look at the queue (non-blocking commands only). */
  connection: Redis;
  processor: (job: Job<StoredJobPayload>) => Promise<ResultDocument>;
  logger: Logger;
}

/**
 * Job slots held for urgent (moderation) jobs beside the main worker's WORKER_CONCURRENCY: while the main worker's
 * slots are all busy with tagging jobs, a moderation job still starts at once. The lane waits for a hint the API
 * leaves per urgent job (`hintUrgentJobs`; BLPOP, so one hint wakes one lane across all workers), looks whether an
 * urgent job is next in the queue, and only then fetches (`getNextJob`) and runs it through BullMQ's own
 * `processJob` (lock, completion, failure, retries and backoff exactly as the main worker does). If a main worker
 * took the urgent job between the look and the fetch, the lane got a tagging job: it hands it back with
 * `moveToWait`, which puts it at the front of its priority, and the attempt does not count.
 *
 * Every job this lane takes ends as the main worker's do: BullMQ completes or fails it, a lost lock makes it
 * stalled for any worker's stalled check (the main worker runs it; the lane does not), and `close()` waits for
 * running jobs unless forced.
 */
export class UrgentLane {
  readonly worker: LaneWorker;
  readonly slots: number;
  readonly #connection: Redis;
  /** Blocking connection for BLPOP (disconnected to stop waiting). */
  readonly #blocking: Redis;
  readonly #hints: string;
  readonly #log: Logger;
  readonly #running = new Set<Promise<void>>();
  #wake: (() => void) | undefined;
  #paused = false;
  #stopped = false;
  #loop: Promise<void> | undefined;
  #tokens = 0;

  constructor(options: UrgentLaneOptions) {
    this.slots = options.slots;
    this.#connection = options.connection;
    this.#blocking = options.connection.duplicate();
    this.#blocking.on('error', () => undefined);
    this.#log = options.logger.child({ lane: 'urgent' });
    this.worker = new LaneWorker(options.queueName, options.processor, {
      ...options.workerOptions,
      autorun: false,
      // The main worker's stalled check covers every active job of the queue, the lane's too.
      skipStalledCheck: true,
    });
    this.#hints = urgentHintsKey(this.worker);
  }

  /** Starts waiting for urgent jobs. */
  start(): void {
    this.worker.startLockRenewal();
    this.#loop = this.#run().catch((err: unknown) => this.#log.error({ err }, 'urgent lane stopped'));
  }

  /** Takes no new jobs until `resume` (the S3 circuit breaker is open). */
  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#wake?.();
  }

  /** Jobs running in this lane. */
  get active(): number {
    return this.#running.size;
  }

  /** Stops fetching and resolves when the lane's running jobs have ended (completed, failed or handed back). */
  async drain(): Promise<void> {
    this.#stop();
    await this.#loop;
    await Promise.all([...this.#running]);
  }

  /**
   * Stops fetching; `force`: without waiting for running jobs (their locks expire, another worker re-runs them)
   * nor, beyond FORCED_CLOSE_MS, for a look or fetch stuck on an unanswering Redis (its owner disconnects the
   * shared connection afterwards, which ends it).
   */
  async close(force: boolean): Promise<void> {
    this.#stop();
    if (force) {
      await settleWithin(this.#loop, FORCED_CLOSE_MS);
      await settleWithin(this.worker.close(true), FORCED_CLOSE_MS);
    } else {
      await this.#loop;
      await this.worker.close(false);
    }
    this.#blocking.disconnect();
  }

  #stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    // Ends a BLPOP in progress.
    this.#blocking.disconnect();
    this.#wake?.();
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      if (this.#paused || this.#running.size >= this.slots) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      try {
        // A hint, or a look anyway every LOOK_EVERY_S: an urgent job back from a retry or a stall has none.
        await this.#blocking.blpop(this.#hints, LOOK_EVERY_S);
        if (this.#stopped || this.#paused) continue;
        await this.#fetchUrgent();
      } catch (err) {
        if (this.#stopped) return;
        this.#log.warn({ err }, 'urgent lane: Redis error, retrying');
        await new Promise((resolve) => setTimeout(resolve, LOOK_EVERY_S * 1000));
      }
    }
  }

  /** Fetches and starts urgent jobs while one is next in the queue and a slot is free. */
  async #fetchUrgent(): Promise<void> {
    while (!this.#stopped && !this.#paused && this.#running.size < this.slots) {
      if (!(await urgentJobIsNext(this.#connection, this.worker))) return;
      const token = `${this.worker.id}:urgent:${this.#tokens++}`;
      const job = await this.worker.getNextJob(token, { block: false });
      if (job === undefined) return;
      if (!isUrgentJob(job)) {
        // Lost the race to a main worker: give the job back at the front of its priority, unrun.
        await handBack(job, token, this.#connection, this.worker);
        return;
      }
      const running: Promise<void> = this.worker
        .processJob(job, token, () => false)
        .then(
          () => undefined,
          (err: unknown) => this.#log.error({ err, jobId: job.id }, 'urgent lane: job not recorded'),
        )
        .finally(() => {
          this.#running.delete(running);
          this.#wake?.();
        });
      this.#running.add(running);
    }
  }
}
