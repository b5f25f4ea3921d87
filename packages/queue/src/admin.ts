import { decodeFailedReason, DEFAULT_TENANT, type QueueOperationResult } from '@labelq/contracts';
import type { Job, Queue } from 'bullmq';

/** Jobs read per page when an operation walks a state. */
const PAGE = 500;

export interface QueueAdminOptions {
  /**
   * Releases removed jobs' open-job reservations (TENANT_MAX_OPEN_JOBS), per tenant. Default: none. Drain calls
   * it: a removed job never reaches a worker, which is what releases a reservation otherwise.
   */
  release?(tenant: string, ids: readonly string[]): Promise<void>;
}

/**
 * Queue-wide operations for operators (the API's `/v1/queue/*` routes with scope `operator`, and `labelq queue`).
 * Pause is global: BullMQ marks the queue paused in Redis, and every worker, on every machine, stops taking
 * new jobs (running ones finish) until resume.
 */
export class QueueAdmin {
  constructor(
    private readonly queue: Queue,
    private readonly options: QueueAdminOptions = {},
  ) {}

  private async result(operation: QueueOperationResult['operation'], count: number) {
    return { operation, count, paused: await this.queue.isPaused() };
  }

  async pause(): Promise<QueueOperationResult> {
    await this.queue.pause();
    return this.result('pause', 0);
  }

  async resume(): Promise<QueueOperationResult> {
    await this.queue.resume();
    return this.result('resume', 0);
  }

  /**
   * Failed jobs back to the queue (same id, same priority, attempts counted afresh), all of them or those whose
   * coded failure reason is `code`, at most `limit`. Walks the failed set newest first.
   */
  async retryFailed(options: { code?: string | undefined; limit: number }): Promise<QueueOperationResult> {
    let retried = 0;
    let start = 0;
    while (retried < options.limit) {
      const jobs = (await this.queue.getJobs(['failed'], start, start + PAGE - 1, false)) as (
        Job | undefined
      )[];
      if (jobs.length === 0) break;
      let skipped = 0;
      for (const job of jobs) {
        if (job === undefined) continue;
        if (retried >= options.limit) break;
        if (options.code !== undefined && decodeFailedReason(job.failedReason).code !== options.code) {
          skipped++;
          continue;
        }
        // A job another operator retried meanwhile is no longer failed: skip it.
        await job.retry('failed').then(
          () => retried++,
          () => skipped++,
        );
      }
      // Retried jobs left the failed set; the page to read next starts after the skipped ones.
      start += skipped;
      if (jobs.length < PAGE && skipped === jobs.length) break;
    }
    return this.result('retry', retried);
  }

  /** Removes completed or failed jobs finished more than `olderThanSeconds` ago from Redis (S3 documents stay). */
  async clean(options: {
    state: 'completed' | 'failed';
    olderThanSeconds: number;
    limit: number;
  }): Promise<QueueOperationResult> {
    const ids = await this.queue.clean(options.olderThanSeconds * 1000, options.limit, options.state);
    return this.result('clean', ids.length);
  }

  /**
   * Removes every waiting job (and the delayed ones with `delayed`); active jobs finish. The removed jobs get no
   * result or failure document: drain is for discarding work (a bad bulk submission), and their tenants'
   * reservations are released. A job submitted while this runs may be drained without its reservation being
   * released (it then counts against its tenant's cap until the set is reset); run it on a paused queue.
   */
  async drain(options: { delayed: boolean }): Promise<QueueOperationResult> {
    const types = options.delayed
      ? (['waiting', 'prioritized', 'delayed'] as const)
      : (['waiting', 'prioritized'] as const);
    const byTenant = new Map<string, string[]>();
    let count = 0;
    for (let start = 0; ; start += PAGE) {
      const jobs = (await this.queue.getJobs([...types], start, start + PAGE - 1, true)) as (
        Job | undefined
      )[];
      for (const job of jobs) {
        if (job?.id === undefined) continue;
        count++;
        const data = job.data as { tenant?: unknown; v?: unknown } | null;
        const tenant = typeof data?.tenant === 'string' ? data.tenant : DEFAULT_TENANT;
        byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), job.id]);
      }
      // getJobs pages each state separately: done when no state has more.
      if (jobs.length === 0) break;
    }
    await this.queue.drain(options.delayed);
    if (this.options.release !== undefined) {
      for (const [tenant, ids] of byTenant) await this.options.release(tenant, ids);
    }
    return this.result('drain', count);
  }
}
