import { randomBytes } from 'node:crypto';
import type { Config } from '@labelq/config';
import {
  batchItemJobId,
  encodeJobPayload,
  JOB_NAME,
  JOB_PAYLOAD_VERSION,
  type Batch,
  type BatchItemRecord,
  type ModelRef,
  type StoredJobPayload,
} from '@labelq/contracts';
import { LabelqError, toLabelqError } from '@labelq/errors';
import { BACKOFF_TYPE } from '@labelq/queue';
import type { ObjectStore } from '@labelq/storage';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { onBatchFinished } from './finished.ts';
import { planPage } from './plan.ts';
import { readPage, writePage } from './pages.ts';
import { writeReport } from './report.ts';
import { readManifestPage, readPrefixPage, type SourcePage } from './source.ts';
import type { BatchState, BatchStore } from './store.ts';
import { windowSpace } from './window.ts';

/**
 * BullMQ priority of batch items: after moderation (1) and ad-hoc tagging (10), so a bulk backlog never delays
 * an upload or an API request. Equal among batches: each batch's window shares the FIFO fairly.
 */
export const BATCH_PRIORITY = 20;

/** Called once when a batch ends (completed, or failed); the place for a `batch.completed` webhook. */
export type BatchFinishedHook = (batch: Batch, ctx: { logger: Logger }) => Promise<void>;

export interface RunnerDeps {
  config: Config;
  store: BatchStore;
  /** The results bucket's store (item pages, reports, result documents); its client lists source buckets. */
  s3: ObjectStore;
  classifyQueue: Queue<StoredJobPayload>;
  /** Every model workers load, with its file's sha256. */
  models: readonly ModelRef[];
  /** The moderation policy version a result made now for this tenant records. */
  policyVersion: (tenant: string) => string | Promise<string>;
  logger: Logger;
  onFinished?: BatchFinishedHook;
  /** How long the runner waits when the window is full or jobs are still running, ms. Default 200. */
  pollMs?: number;
  /** Lease on the batch (one runner at a time), ms. Default config.worker.lockDurationMs. */
  leaseMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Renews our lease, or takes it again when it expired and nobody else took it (a step slower than the lease). */
const RENEW = `local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** Consecutive transient failures (S3 or Redis outage) a runner rides out before it gives the batch up. */
const MAX_TRANSIENT_FAILURES = 30;

/**
 * Runs one batch until it ends, is paused or cancelled, or its lease is lost: lists a page, records it in S3
 * and commits its counts and cursor, queues its items as the window allows, and writes the report at the end.
 * Every step is committed before the next starts, so a runner killed anywhere resumes in another process
 * (the control job's lock expires and another batch-role worker takes it) with nothing skipped or queued
 * twice. Resolves when this runner is done with the batch.
 */
export async function runBatch(deps: RunnerDeps, batchId: string, signal?: AbortSignal): Promise<void> {
  const { store, config } = deps;
  const log = deps.logger.child({ batchId });
  const pollMs = deps.pollMs ?? 200;
  const leaseMs = deps.leaseMs ?? config.worker.lockDurationMs;
  const k = store.keys(batchId);
  const token = randomBytes(8).toString('hex');
  // Another runner holds the lease: wait for it to end (a killed runner's lease expires) or give up to it.
  const waitUntil = Date.now() + 2 * leaseMs;
  while ((await store.redis.set(k.lease, token, 'PX', leaseMs, 'NX')) !== 'OK') {
    if (Date.now() > waitUntil || signal?.aborted) {
      log.info('another runner holds this batch; leaving it to that one');
      return;
    }
    await sleep(Math.min(500, leaseMs / 4));
  }
  // Renewed on a timer as well as at every step: a slow step (a big page on a loaded machine) keeps the lease.
  const renewTimer = setInterval(
    () => {
      store.redis.eval(RENEW, 1, k.lease, token, leaseMs).catch(() => undefined);
    },
    Math.max(100, Math.floor(leaseMs / 3)),
  );
  try {
    await store.redis.hsetnx(k.hash, 'startedAt', new Date().toISOString());
    let transient = 0;
    const cache = new Map<number, BatchItemRecord[]>();
    // Reconciliation: when jobs are in flight but no outcome arrives for a while, look for items whose job left
    // the queue without one.
    const stuckAfterMs = Math.max(4000, 4 * config.worker.lockDurationMs);
    let lastFinished = -1;
    let lastChange = Date.now();
    for (;;) {
      if (signal?.aborted) return;
      if (((await store.redis.eval(RENEW, 1, k.lease, token, leaseMs)) as number) !== 1) {
        log.warn('another runner took the batch lease; stopping');
        return;
      }
      const s = await store.read(batchId);
      if (s === undefined || (s.status !== 'listing' && s.status !== 'running')) {
        log.info({ status: s?.status }, 'batch runner stopping');
        return;
      }
      try {
        const progressed = await step(deps, s, cache, log);
        transient = 0;
        if (progressed === 'ended') return;
        if (progressed === 'idle') {
          const finished = s.completed + s.failed;
          if (finished !== lastFinished) {
            lastFinished = finished;
            lastChange = Date.now();
          } else if (!s.retrying && Date.now() - lastChange > stuckAfterMs) {
            lastChange = Date.now();
            await reconcile(deps, s, log);
          }
          await sleep(pollMs);
        }
      } catch (raw) {
        const err = toLabelqError(raw);
        if (err.retryable && ++transient < MAX_TRANSIENT_FAILURES) {
          log.warn({ code: err.code, err: raw, transient }, 'batch step failed; retrying');
          await sleep(Math.min(10_000, 250 * 2 ** Math.min(transient, 6)));
          continue;
        }
        log.error({ code: err.code, err: raw }, 'batch failed');
        await endBatch(deps, s, 'failed', { code: err.code, message: err.message }, log);
        return;
      }
    }
  } finally {
    clearInterval(renewTimer);
    await store.redis.eval(RELEASE, 1, k.lease, token).catch(() => undefined);
  }
}

async function page(
  deps: RunnerDeps,
  s: BatchState,
  n: number,
  cache: Map<number, BatchItemRecord[]>,
): Promise<BatchItemRecord[]> {
  let p = cache.get(n);
  if (p === undefined) {
    p = await readPage(deps.s3, deps.config.batch.reportsPrefix, s.tenant, s.id, n);
    cache.clear(); // one page at a time: memory is one page, whatever the batch size
    cache.set(n, p);
  }
  return p;
}

/**
 * Records a failure (`job_lost`) for every queued item that has no outcome and no job in Redis any more: a job
 * BullMQ failed on its own (past its stall limit, without running the processor) or one removed by hand would
 * otherwise hold the batch open forever. A job still waiting, delayed or active is left alone. Reads every item
 * page: it runs only when a batch made no progress for a while.
 */
async function reconcile(deps: RunnerDeps, s: BatchState, log: Logger): Promise<void> {
  let lost = 0;
  const upTo = Math.min(s.enqPage, s.pages - 1);
  for (let n = 0; n <= upTo; n++) {
    const records = (await readPage(deps.s3, deps.config.batch.reportsPrefix, s.tenant, s.id, n)).filter(
      (r, i) => r.action === 'queue' && (n < s.enqPage || i < s.enqIndex),
    );
    const bits = await deps.store.bits(
      s.id,
      records.map((r) => r.o),
    );
    for (let i = 0; i < records.length; i++) {
      if (bits[i]!.done || bits[i]!.fail) continue;
      const state = await deps.classifyQueue.getJobState(batchItemJobId(s.id, records[i]!.o));
      if (state !== 'unknown') continue;
      // Read the bits again: the job may have finished (and been removed) since.
      const [again] = await deps.store.bits(s.id, [records[i]!.o]);
      if (again!.done || again!.fail) continue;
      if (await deps.store.recordOutcome(s.id, records[i]!.o, { status: 'failed', code: 'job_lost' })) lost++;
    }
  }
  if (lost > 0) log.warn({ lost }, 'items whose job left the queue without an outcome recorded as job_lost');
}

/** One step; 'progressed' when it did something, 'idle' when it waits for jobs, 'ended' when the batch ended. */
async function step(
  deps: RunnerDeps,
  s: BatchState,
  cache: Map<number, BatchItemRecord[]>,
  log: Logger,
): Promise<'progressed' | 'idle' | 'ended'> {
  const { config, store } = deps;
  const window = config.batch.window;
  // 1. Queue what the current page still holds, as far as the window allows.
  if (!s.spec.dryRun && s.enqPage < s.pages) {
    const space = windowSpace(s, window);
    if (space === 0) return 'idle';
    const records = await page(deps, s, s.enqPage, cache);
    const taken = await enqueueFrom(deps, s, records, s.enqIndex, space, () => true);
    const atEnd = taken.next >= records.length;
    await store.commitEnqueue(
      s.id,
      { field: 'enq', page: atEnd ? s.enqPage + 1 : s.enqPage, index: atEnd ? 0 : taken.next },
      taken.count,
    );
    return 'progressed';
  }
  // 2. List the next page (only once everything listed so far is queued: one page in memory, and the listing
  //    never runs far ahead of the window).
  if (!s.listDone) {
    await listNextPage(deps, s, log);
    return 'progressed';
  }
  // 3. retry-failed: queue the items in the retry bitmap again, page by page.
  if (s.retrying && !s.spec.dryRun) {
    if (s.retryPage >= s.pages) {
      await store.set(s.id, { retrying: '0' });
      return 'progressed';
    }
    const space = windowSpace(s, window);
    if (space === 0) return 'idle';
    const records = await page(deps, s, s.retryPage, cache);
    const bits = await store.bits(
      s.id,
      records.map((r) => r.o),
    );
    const retry = new Set(
      records.filter((_, i) => bits[i]!.retry && !bits[i]!.done && !bits[i]!.fail).map((r) => r.o),
    );
    const taken = await enqueueFrom(deps, s, records, s.retryIndex, space, (r) => retry.has(r.o), {
      replace: true,
    });
    const atEnd = taken.next >= records.length;
    await store.commitEnqueue(
      s.id,
      { field: 'retry', page: atEnd ? s.retryPage + 1 : s.retryPage, index: atEnd ? 0 : taken.next },
      taken.count,
    );
    return 'progressed';
  }
  // 4. Everything listed and queued: done when nothing is in flight.
  if (s.status === 'listing') await store.markRunning(s.id);
  // A dry run's `queued` counts what would be queued: nothing is in flight.
  if (!s.spec.dryRun && windowSpace(s, window) < window) return 'idle';
  await endBatch(deps, s, 'completed', undefined, log);
  return 'ended';
}

/**
 * Queues up to `space` items of `records` from `from` on that `want` accepts and whose action is `queue`.
 * Items whose outcome is already recorded (queued before a crash, finished since) are counted but not added
 * again; the rest are added with their deterministic job id, so one still in Redis is not duplicated.
 */
async function enqueueFrom(
  deps: RunnerDeps,
  s: BatchState,
  records: readonly BatchItemRecord[],
  from: number,
  space: number,
  want: (r: BatchItemRecord) => boolean,
  options: { replace?: boolean } = {},
): Promise<{ next: number; count: number }> {
  const picked: BatchItemRecord[] = [];
  let i = from;
  for (; i < records.length && picked.length < space; i++) {
    const r = records[i]!;
    if (r.action === 'queue' && want(r)) picked.push(r);
  }
  if (picked.length === 0) return { next: i, count: 0 };
  const bits = await deps.store.bits(
    s.id,
    picked.map((r) => r.o),
  );
  const toAdd = picked.filter((_, j) => !bits[j]!.done && !bits[j]!.fail);
  const { config } = deps;
  const now = new Date().toISOString();
  if (options.replace) {
    // A failed job may still be in Redis (removeOnFail keeps none, but an older deploy's may): remove it.
    await Promise.all(toAdd.map((r) => deps.classifyQueue.remove(batchItemJobId(s.id, r.o)).catch(() => 0)));
  }
  if (toAdd.length === 0) return { next: i, count: picked.length };
  await deps.classifyQueue.addBulk(
    toAdd.map((r) => ({
      name: JOB_NAME,
      data: encodeJobPayload({
        v: JOB_PAYLOAD_VERSION,
        tenant: s.tenant,
        id: r.id!,
        bucket: r.bucket,
        key: r.key,
        models: s.spec.models,
        purpose: s.spec.purpose,
        origin: 's3',
        ...(r.metadata !== undefined || s.spec.metadata !== undefined
          ? { metadata: { ...s.spec.metadata, ...r.metadata } }
          : {}),
        submittedAt: now,
      }),
      opts: {
        jobId: batchItemJobId(s.id, r.o),
        priority: BATCH_PRIORITY,
        attempts: config.worker.attempts,
        backoff: { type: BACKOFF_TYPE, delay: config.worker.backoffMs },
        // The outcome is in the batch's bitmaps and the result document: Redis keeps no finished item, so its
        // memory is the window, whatever the batch size.
        removeOnComplete: true,
        removeOnFail: true,
      },
    })),
  );
  return { next: i, count: picked.length };
}

async function listNextPage(deps: RunnerDeps, s: BatchState, log: Logger): Promise<void> {
  const { config, s3 } = deps;
  const src = s.spec.source;
  let sourcePage: SourcePage;
  if ('prefix' in src) {
    sourcePage = await readPrefixPage(s3.client, src.bucket, src.prefix, s.listCursor, config.batch.pageSize);
  } else {
    sourcePage = await readManifestPage(
      s3.client,
      src.bucket,
      src.manifestKey,
      s.listCursor,
      config.batch.pageSize,
    );
  }
  const known = new Map(deps.models.map((m) => [m.name, m]));
  const models = s.spec.models.map((n) => {
    const m = known.get(n);
    if (m === undefined) throw new LabelqError('unknown_model', `The workers do not load model ${n}`);
    return m;
  });
  const planned = await planPage(
    s3,
    {
      tenant: s.tenant,
      spec: s.spec,
      models,
      policyVersion: await deps.policyVersion(s.tenant),
      allowedBuckets: config.s3.allowedBuckets.filter(
        (b) => s.spec.allowedBuckets === undefined || s.spec.allowedBuckets.includes(b),
      ),
      ownBucket: config.s3.bucket,
      ownPrefixes: [config.s3.uploadsPrefix, config.s3.resultsPrefix, config.batch.reportsPrefix],
      lookupConcurrency: config.batch.lookupConcurrency,
    },
    sourcePage.entries,
    s.nextOrdinal,
  );
  await writePage(s3, config.batch.reportsPrefix, s.tenant, s.id, s.pages, planned.records);
  await deps.store.commitPage(s.id, {
    n: s.pages,
    items: planned.records.length,
    skipped: planned.skipped,
    failedByCode: planned.failedByCode,
    wouldQueue: planned.queue,
    cursor: sourcePage.cursor,
    done: sourcePage.done,
    dryRun: s.spec.dryRun,
  });
  log.debug({ page: s.pages, items: planned.records.length, queue: planned.queue }, 'listed a page');
}

async function endBatch(
  deps: RunnerDeps,
  s: BatchState,
  status: 'completed' | 'failed',
  error: { code: string; message: string } | undefined,
  log: Logger,
): Promise<void> {
  let report: BatchState['report'];
  try {
    report = await writeReport(deps, (await deps.store.read(s.id)) ?? s, status);
  } catch (err) {
    log.warn({ err }, 'could not write the completion report');
  }
  const ended = await deps.store.finish(s.id, status, {
    ...(error ? { error } : {}),
    ...(report ? { report } : {}),
  });
  if (!ended) return;
  const final = await deps.store.read(s.id);
  log.info(
    { status, counts: final && { completed: final.completed, failed: final.failed, skipped: final.skipped } },
    'batch ended',
  );
  if (final === undefined) return;
  const view = await deps.store.view(final);
  for (const hook of [onBatchFinished, deps.onFinished]) {
    await hook?.(view, { logger: log }).catch((err: unknown) =>
      log.warn({ err }, 'batch finished hook failed'),
    );
  }
}
