import type { Config } from '@labelq/config';
import { createInferencePool, type InferencePool } from '@labelq/inference';
import { loadModerationPolicy } from '@labelq/moderation';
import {
  assertNoEviction,
  assertPersistence,
  backoffDelay,
  BACKOFF_TYPE,
  createWorkerConnection,
  settleWithin,
} from '@labelq/queue';
import type { ResultDocument, StoredJobPayload } from '@labelq/contracts';
import { createObjectStore, createThreadedObjectStore, type ObjectStore } from '@labelq/storage';
import { OpenJobs } from '@labelq/access';
import { MetricsTime, Worker, type Job, type WorkerOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { LabelqError } from '@labelq/errors';
import type { Logger } from 'pino';
import { ByteBudget } from './byte-budget.ts';
import type { WorkerReadinessCheck } from './http.ts';
import { instrumentProcessor } from './instrument.ts';
import { startBatchRole, withBatchOutcomes } from './batch-role.ts';
import { createWorkerMetrics, type WorkerMetrics } from './metrics.ts';
import { readinessChecks } from './readiness.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { createProcessor } from './processor.ts';
import { createWorkerWorkflow } from './workflow-runtime.ts';
import { startIndexRole } from './index-role.ts';
import { batchFinishedHook } from './workflow.ts';
import { UrgentLane } from './urgent-lane.ts';

/** How long the shutdown waits for the main BullMQ worker's close once its jobs are settled, ms. */
const CLOSE_MS = 2000;

/** One connection attempt, no retries: an unreachable Redis fails the start instead of retrying forever. */
async function checkRedis(config: Config, log: Logger): Promise<void> {
  const url = config.redis.url;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await probe.connect().catch((err: unknown) => {
      throw new LabelqError(
        'queue_unavailable',
        `Redis at ${redactUrl(url)} is unreachable: ${(err as Error).message}`,
        { cause: err },
      );
    });
    await assertNoEviction(probe);
    await assertPersistence(probe, config.redis.persistence, log);
  } finally {
    probe.disconnect();
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

export interface WorkerRuntimeDeps {
  /** Structured logger. Required (main.ts builds it from config.logLevel). */
  logger: Logger;
  /** An existing pool to use (the caller keeps ownership). Default: one built from config.pool. */
  pool?: InferencePool;
  /** An existing store (the caller keeps ownership). Default: one built from config.s3. */
  store?: ObjectStore;
  /** Where the job metrics go (main.ts makes it before the start checks, to serve it early). Default: a new one. */
  metrics?: WorkerMetrics;
}

export interface WorkerRuntime {
  worker: Worker<StoredJobPayload, ResultDocument>;
  pool: InferencePool;
  store: ObjectStore;
  /** The worker's Prometheus metrics (served by `startWorkerHttp`). */
  metrics: WorkerMetrics;
  /** What `/readyz` checks: pool threads and models, Redis, the results bucket, not draining. */
  readiness: readonly WorkerReadinessCheck[];
  /** True once close() was called (the worker finishes in-flight jobs and takes no new ones). */
  readonly draining: boolean;
  /**
   * Stops taking jobs, waits up to config.worker.shutdownTimeoutMs for in-flight ones (then abandons them:
   * their locks expire and another worker takes them over), closes what this runtime created. Idempotent.
   * Resolves true when every in-flight job finished.
   */
  close(): Promise<boolean>;
}

/**
 * Builds and starts a worker after the start checks: Redis reachable and `maxmemory-policy noeviction`
 * (`redis_eviction_policy` otherwise), the results bucket reachable, the moderation policy valid, and the
 * model files present with their manifests' sha256 (the pool's loadModels). Any failure rejects with a
 * coded LabelqError and leaves nothing running.
 */
export async function createWorkerRuntime(config: Config, deps: WorkerRuntimeDeps): Promise<WorkerRuntime> {
  const log = deps.logger;
  // `force`: the shutdown deadline passed, so nothing may wait for in-flight work.
  const owned: ((force: boolean) => Promise<void>)[] = [];
  const closeOwned = async (force = false): Promise<void> => {
    for (const c of owned.reverse()) {
      await c(force).catch((err: unknown) => log.warn({ err }, 'cleanup failed'));
    }
    owned.length = 0;
  };
  let connection: Redis | undefined;
  try {
    await checkRedis(config, log);
    connection = createWorkerConnection(config.redis.url);
    const conn = connection;
    // Forced (the deadline passed, perhaps during a Redis outage): QUIT would wait for Redis to come back.
    owned.push(async (force) => {
      if (force) conn.disconnect();
      else await conn.quit().catch(() => conn.disconnect());
    });

    // The S3 requests run on S3_IO_THREADS threads: the SDK's CPU per request would otherwise be most of this
    // event loop's work per image (#12).
    const store =
      deps.store ??
      (config.s3.ioThreads > 0
        ? createThreadedObjectStore(config.s3, {
            threads: config.s3.ioThreads,
            onThreadExit: (info) =>
              log.error(
                { ...info, err: info.error },
                'an S3 I/O thread exited; its requests failed, a new one starts',
              ),
          })
        : createObjectStore(config.s3));
    if (!deps.store) owned.push(() => Promise.resolve(store.destroy()));
    await store.checkBucket(config.s3.bucket);
    const policy = await loadModerationPolicy(config.moderation.policyFile);

    const pool =
      deps.pool ??
      (await createInferencePool({
        modelsDir: config.models.dir,
        ...(config.models.names !== undefined ? { models: config.models.names } : {}),
        threads: config.pool.threads,
        urgentThreads: config.pool.urgentThreads,
        bulkNice: config.pool.bulkNice,
        intraOpThreads: config.pool.intraOpThreads,
        maxInputPixels: config.pool.maxInputPixels,
        maxDecodeBytes: config.pool.maxDecodeBytes,
        logger: log,
      }));
    if (!deps.pool) owned.push((force) => pool.close({ force }));

    // Tenant policies, the review queue, webhook events and the webhooks worker (deliveries never run on the
    // classify worker's slots: their own queue, worker and connection).
    const metrics = deps.metrics ?? createWorkerMetrics();
    const workflow = await createWorkerWorkflow(config, policy, log, (a) => metrics.webhookAttempt(a));
    owned.push((force) => workflow.close(force));

    const indexRole = await startIndexRole(config, conn, log);
    if (indexRole !== undefined) owned.push(() => indexRole.close());
    const budget = new ByteBudget(config.worker.maxBytesInFlight);
    // Aborted when the shutdown deadline abandons in-flight jobs: their S3 requests stop and they write no
    // failure document (another worker re-runs them once their locks expire).
    const abandon = new AbortController();
    const jobState = { active: 0 };
    let closing: Promise<boolean> | undefined;
    metrics.observe({
      threads: () => pool.threads,
      poolTasks: () => pool.pending,
      bytesInFlight: () => budget.inUse,
      bytesCapacity: () => budget.capacity,
      activeJobs: () => jobState.active,
      concurrency: () => config.worker.concurrency,
      urgentConcurrency: () => lane?.slots ?? 0,
      draining: () => closing !== undefined,
      breakers: () => [{ dependency: s3Breaker.name, open: s3Breaker.state === 'open' }],
    });
    // S3 outage breaker: a failure that is part of an outage (a HeadBucket probe fails too) pauses intake and
    // hands the job back without spending an attempt; probes with backoff resume intake when S3 answers. The
    // probe targets the bucket that failed (a source bucket may sit elsewhere than the results bucket). A download
    // past its deadline (`timeout`) may be an outage too: S3 slower than S3_REQUEST_TIMEOUT_MS fails every job
    // alike. So the probe gets no longer than a request does: an S3 that cannot answer a HeadBucket within the
    // deadline of a real request is down for our purposes, and one that can makes the timeout that job's own.
    const s3Breaker = new CircuitBreaker({
      name: 's3',
      outageCodes: ['storage_unavailable', 'timeout'],
      probeTimeoutMs: Math.min(5000, config.s3.requestTimeoutMs),
      probe: (cause) => {
        const bucket = cause.details?.bucket;
        return store.checkBucket(typeof bucket === 'string' ? bucket : config.s3.bucket);
      },
      onOpen: () => {
        void worker.pause(true);
        lane?.pause();
      },
      onClose: () => {
        if (closing === undefined) {
          worker.resume();
          lane?.resume();
        }
      },
      logger: log,
    });
    owned.push(() => Promise.resolve(s3Breaker.stop()));
    // Jobs in the processor right now: a shutdown while the breaker holds intake paused waits for these.
    const inFlight = new InFlight();
    const processor = withBatchOutcomes(
      config,
      connection,
      log,
      abandon.signal,
      instrumentProcessor(
        createProcessor({
          config,
          pool,
          store,
          policy,
          budget,
          logger: log,
          abandoned: abandon.signal,
          openJobs: new OpenJobs(connection, config.redis.keyPrefix),
          outage: (err) => s3Breaker.isOutage(err),
          workflow: workflow.hooks,
          ...(indexRole !== undefined ? { outcomes: indexRole.recorder } : {}),
        }),
        metrics,
        jobState,
        abandon.signal,
      ),
    );
    const workerOptions: WorkerOptions = {
      connection,
      prefix: config.queue.prefix,
      lockDuration: config.worker.lockDurationMs,
      // One more than ours: the processor fails a job past config.worker.maxStalledCount itself, with the coded
      // reason `job_stalled` and a failure document; BullMQ's own check would fail it uncoded, without one.
      maxStalledCount: config.worker.maxStalledCount + 1,
      // Look for jobs of dead workers as often as a lock can expire (BullMQ's default is 30 s).
      stalledInterval: Math.min(30_000, config.worker.lockDurationMs),
      autorun: false,
      settings: {
        backoffStrategy: (attemptsMade: number, type?: string) =>
          type === BACKOFF_TYPE
            ? backoffDelay(attemptsMade, config.worker.backoffMs)
            : config.worker.backoffMs,
      },
    };
    const runJob = (job: Job<StoredJobPayload>): Promise<ResultDocument> =>
      inFlight.run(() => processor(job));
    const worker: Worker<StoredJobPayload, ResultDocument> = new Worker<StoredJobPayload, ResultDocument>(
      config.queue.name,
      runJob,
      {
        ...workerOptions,
        concurrency: config.worker.concurrency,
        // Per-minute completed/failed counts in Redis (the dashboard's throughput chart), a week of them.
        metrics: { maxDataPoints: MetricsTime.ONE_WEEK },
      },
    );
    // Slots for moderation jobs beside WORKER_CONCURRENCY (WORKER_URGENT_CONCURRENCY; urgent-lane.ts).
    const lane =
      config.worker.urgentConcurrency > 0
        ? new UrgentLane({
            slots: config.worker.urgentConcurrency,
            queueName: config.queue.name,
            workerOptions,
            connection,
            processor: runJob,
            logger: log,
          })
        : undefined;
    // A start that fails from here on (a worker not getting ready) closes both; close() below closes them first,
    // and a second close of either is a no-op.
    owned.push(async (force) => {
      await lane?.close(force);
      // A second close of either returns the first's promise: bounded here as below.
      await settleWithin(worker.close(force), CLOSE_MS);
    });
    for (const w of lane ? [worker, lane.worker] : [worker]) {
      w.on('failed', (job, err) =>
        log.debug({ jobId: job?.id, attemptsMade: job?.attemptsMade, reason: err.message }, 'job failed'),
      );
      w.on('error', (err) => log.error({ err }, 'worker error'));
    }
    worker.on('stalled', (jobId) => {
      metrics.stalled.inc();
      log.warn({ jobId }, 'stalled job moved back (its worker died or hung)');
    });
    // The batch role (BATCH_RUNNERS > 0): lists and queues batches; any worker replica can pick one up.
    const batchRole = startBatchRole({
      config,
      connection,
      store,
      pool,
      policy,
      logger: log,
      // Tenant policies decide what `stale` means; the end of a batch is a `batch.completed` webhook (#10).
      policyVersion: async (tenant) => (await workflow.hooks.policies.forTenant(tenant)).version,
      onFinished: batchFinishedHook(workflow.hooks),
    });
    if (batchRole !== undefined) owned.push(() => batchRole.close());
    const readiness = readinessChecks({
      config,
      pool,
      store,
      isDraining: () => closing !== undefined,
      breakers: [s3Breaker],
    });
    owned.push(() => readiness.close());
    void worker.run().catch((err: unknown) => log.error({ err }, 'worker stopped with an error'));
    await worker.waitUntilReady();
    if (lane !== undefined) {
      await lane.worker.waitUntilReady();
      lane.start();
    }
    log.info(
      {
        queue: config.queue.name,
        concurrency: config.worker.concurrency,
        urgentConcurrency: lane?.slots ?? 0,
        threads: pool.threads,
        urgentThreads: pool.urgentThreads ?? 0,
        models: pool.manifests.map((m) => m.name),
        policy: policy.version,
      },
      'worker started',
    );

    const close = (): Promise<boolean> =>
      (closing ??= (async () => {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), config.worker.shutdownTimeoutMs);
        });
        // pause(), not close(): it stops fetching and waits for the active jobs without committing to a mode.
        // BullMQ's close() memoizes its first call, so close() then close(true) would still wait for them.
        // A worker the breaker paused has stopped fetching already: wait for its jobs in the processor instead.
        s3Breaker.stop();
        const finished = Promise.all([worker.isPaused() ? inFlight.idle() : worker.pause(), lane?.drain()]);
        const drained = await Promise.race([finished.then(() => true as const), timedOut]);
        clearTimeout(timer);
        if (!drained) {
          log.warn(
            { timeoutMs: config.worker.shutdownTimeoutMs },
            'shutdown timeout: abandoning in-flight jobs (their locks expire and other workers re-run them)',
          );
        }
        // Forced: closes the connections without waiting; an abandoned job's late result is then not recorded.
        // Bounded: BullMQ's close waits on Redis, which a partition leaves unanswered (the lane bounds its own
        // close). The jobs finished (drained) or were abandoned (forced): what the bound cuts is Redis bookkeeping.
        await settleWithin(worker.close(!drained), CLOSE_MS);
        await lane?.close(!drained);
        if (!drained)
          abandon.abort(new LabelqError('timeout', 'The worker shut down before the job finished'));
        await closeOwned(!drained);
        return drained;
      })());
    return {
      worker,
      pool,
      store,
      metrics,
      readiness: readiness.checks,
      get draining() {
        return closing !== undefined;
      },
      close,
    };
  } catch (err) {
    await closeOwned();
    throw err;
  }
}

/** Counts the jobs inside the processor; idle() resolves when none is. */
class InFlight {
  #count = 0;
  #waiters: (() => void)[] = [];

  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.#count++;
    try {
      return await fn();
    } finally {
      this.#count--;
      if (this.#count === 0) for (const w of this.#waiters.splice(0)) w();
    }
  }

  idle(): Promise<void> {
    return this.#count === 0 ? Promise.resolve() : new Promise((resolve) => this.#waiters.push(resolve));
  }
}
