// Every Prometheus metric the API exports, in one place (other features add theirs here). Names follow
// Prometheus conventions (`labelq_` prefix, base units in the name). Labels are bounded: a route template (never
// the path a client sent), a method, a status code, a purpose, a queue state. Never an id or a tenant.
import { indexBacklog } from '@labelq/index';
import { queueDepth, type ClassifyQueue } from '@labelq/queue';
import type { Redis } from 'ioredis';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { withDeadline } from '../timeout.ts';

/** Seconds: an API request, from 1 ms (a cached read) to 60 s (a slow upload). */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface ApiMetricsOptions {
  /** The queue whose depth the `labelq_queue_*` gauges report at each scrape. */
  queue: ClassifyQueue;
  /** Deadline of the scrape's Redis read, ms. */
  timeoutMs: number;
  /**
   * The results index's outcome stream (REDIS_KEY_PREFIX, INDEX_STREAM_MAX_ENTRIES), when the installation
   * runs the index (DATABASE_URL set): the `labelq_index_*` gauges. Default: none (no series, so the
   * LabelqIndexLag alert stays silent where there is no index).
   */
  index?: { keyPrefix: string; maxEntries: number };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

/**
 * A registry with the API's metrics and the process defaults (CPU, memory, GC, event-loop delay). The queue
 * gauges read Redis when scraped (one Lua round trip, {@link queueDepth}); every API replica reports the same
 * queue, so aggregate them with `max`, not `sum`. When Redis does not answer, `labelq_queue_up` is 0 and the
 * queue gauges are left out of that scrape rather than reporting stale numbers.
 */
export function createApiMetrics(o: ApiMetricsOptions) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  const registers = [registry];
  const http = new Histogram({
    name: 'labelq_http_request_duration_seconds',
    help: 'API requests by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: HTTP_BUCKETS,
    registers,
  });
  const up = new Gauge({
    name: 'labelq_queue_up',
    help: '1 when the last scrape could read the queue',
    registers,
  });
  const jobs = new Gauge({
    name: 'labelq_queue_jobs',
    help: 'Unfinished jobs by state (waiting, delayed, active) and purpose; their sum is the autoscaling depth',
    labelNames: ['state', 'purpose'] as const,
    registers: [],
  });
  const depth = new Gauge({
    name: 'labelq_queue_depth_jobs',
    help: 'waiting + prioritized + delayed + active: the autoscaling signal (GET /v1/queue/depth)',
    registers: [],
  });
  const oldest = new Gauge({
    name: 'labelq_queue_oldest_waiting_age_seconds',
    help: 'Seconds since the job at the front of a purpose line was submitted (backlog age); 0 when none waits',
    labelNames: ['purpose'] as const,
    registers: [],
  });
  const paused = new Gauge({
    name: 'labelq_queue_paused',
    help: '1 while the queue is paused (workers take no new jobs)',
    registers: [],
  });
  const indexBacklogJobs = new Gauge({
    name: 'labelq_index_backlog_jobs',
    help: 'Finished jobs not yet in the results index: read by no indexer yet, or read and not yet committed',
    registers: [],
  });
  const indexOverflowed = new Gauge({
    name: 'labelq_index_overflowed_jobs',
    help: 'Finished jobs refused by the full outcome stream since the last reindex: the index misses them until `labelq reindex`',
    registers: [],
  });
  // Registered while Redis answers (and removed while it does not), by name: prom-client's type hides it.
  const scraped = new Map<Gauge<string>, string>([
    [jobs, 'labelq_queue_jobs'],
    [depth, 'labelq_queue_depth_jobs'],
    [oldest, 'labelq_queue_oldest_waiting_age_seconds'],
    [paused, 'labelq_queue_paused'],
    ...(o.index === undefined
      ? []
      : ([
          [indexBacklogJobs, 'labelq_index_backlog_jobs'],
          [indexOverflowed, 'labelq_index_overflowed_jobs'],
        ] as const)),
  ]);
  const queueGauges = [jobs, depth, oldest, paused];
  let queueRegistered = false;

  /** Reads the queue into the gauges before a scrape. */
  async function refreshQueue(): Promise<void> {
    try {
      const read = async () => {
        const index = o.index;
        if (index === undefined) return { d: await queueDepth(o.queue), backlog: undefined };
        // The queue's connection: the outcome stream lives in the same Redis.
        const redis = (await o.queue.client) as unknown as Redis;
        const [d, backlog] = await Promise.all([
          queueDepth(o.queue),
          indexBacklog(redis, index.keyPrefix, index.maxEntries),
        ]);
        return { d, backlog };
      };
      const { d, backlog } = await withDeadline(read, o.timeoutMs, 'queue_unavailable', 'Redis');
      for (const g of queueGauges) g.reset();
      if (backlog !== undefined) {
        // Unread plus read-but-uncommitted; before the first indexer made its group, everything in the stream.
        indexBacklogJobs.set(backlog.lag === null ? backlog.entries : backlog.lag + backlog.pending);
        indexOverflowed.set(backlog.overflowed);
      }
      for (const [purpose, p] of Object.entries(d.byPurpose)) {
        jobs.set({ state: 'waiting', purpose }, p.waiting);
        jobs.set({ state: 'delayed', purpose }, p.delayed);
        jobs.set({ state: 'active', purpose }, p.active);
        oldest.set({ purpose }, p.oldestWaitingAgeSeconds);
      }
      // Jobs without a priority (none labelq submits) have no purpose.
      if (d.states.waiting > 0) jobs.set({ state: 'waiting', purpose: 'none' }, d.states.waiting);
      depth.set(d.depth);
      paused.set(d.paused ? 1 : 0);
      if (!queueRegistered) for (const g of scraped.keys()) registry.registerMetric(g);
      queueRegistered = true;
      up.set(1);
    } catch {
      if (queueRegistered) {
        for (const name of scraped.values()) registry.removeSingleMetric(name);
      }
      queueRegistered = false;
      up.set(0);
    }
  }

  return {
    registry,
    http,
    /** The Prometheus text of every metric, the queue read fresh. */
    async render(): Promise<string> {
      await refreshQueue();
      return registry.metrics();
    },
  };
}
