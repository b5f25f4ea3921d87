// Every Prometheus metric the worker exports, in one place (other features add theirs here). Names follow
// Prometheus conventions: `labelq_worker_` prefix, base units in the name (`_seconds`, `_bytes`), `_total` for
// counters. Labels are bounded: an outcome, an error code from the registry, a model name from the loaded
// manifests, a purpose. Never an image id, a job id, a tenant or anything a client wrote.
import type { DeliveryAttemptRecord } from '@labelq/webhooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds: a fast stage (decode, per-model inference, S3 round trips) from 1 ms to 30 s. */
const STAGE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds: time spent queued or end to end, from 10 ms to 6 h (a bulk backlog). */
const WAIT_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600];

/** What the worker's gauges read at scrape time. */
export interface WorkerGaugeSources {
  /** Pool threads. */
  threads(): number;
  /** Pool tasks running or queued. */
  poolTasks(): number;
  /** Bytes reserved in the byte budget (downloaded, not yet classified). */
  bytesInFlight(): number;
  /** The byte budget's capacity. */
  bytesCapacity(): number;
  /** Jobs this process is running. */
  activeJobs(): number;
  /** WORKER_CONCURRENCY. */
  concurrency(): number;
  /** WORKER_URGENT_CONCURRENCY (0 without an urgent lane). */
  urgentConcurrency(): number;
  /** True once shutdown started. */
  draining(): boolean;
  /** The circuit breakers (one per dependency: `s3`) and whether each is open (intake paused). */
  breakers(): readonly { dependency: string; open: boolean }[];
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

/**
 * A registry with the worker's metrics and the process defaults (CPU, RSS, heap, GC, event-loop delay as
 * `nodejs_eventloop_lag_*`). One registry per runtime, so tests can run several in one process.
 */
export function createWorkerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  const registers = [registry];
  const sources: { current?: WorkerGaugeSources } = {};
  const read = (f: (s: WorkerGaugeSources) => number): number =>
    sources.current === undefined ? 0 : f(sources.current);

  const metrics = {
    registry,
    /** Attempts by outcome: completed, reused (result document reused for an unchanged ETag), retried, failed, abandoned. */
    jobs: new Counter({
      name: 'labelq_worker_jobs_total',
      help: 'Job attempts by outcome: completed, reused, retried (failed, will run again), failed (for good), abandoned (shutdown deadline), requeued (handed back during a dependency outage, attempt not spent)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    /** Failed attempts by error code and whether the failure was final. */
    failures: new Counter({
      name: 'labelq_worker_job_failures_total',
      help: 'Failed job attempts by error code; final="true" when the job failed for good',
      labelNames: ['code', 'final'] as const,
      registers,
    }),
    stalled: new Counter({
      name: 'labelq_worker_stalled_jobs_total',
      help: "Jobs this worker's stalled-job check found with an expired lock (their worker died or hung) and moved back",
      registers,
    }),
    queueWait: new Histogram({
      name: 'labelq_worker_queue_wait_seconds',
      help: "From submission to a worker starting the job's first attempt",
      labelNames: ['purpose'] as const,
      buckets: WAIT_BUCKETS,
      registers,
    }),
    download: new Histogram({
      name: 'labelq_worker_download_seconds',
      help: 'Reading the source object from S3',
      buckets: STAGE_BUCKETS,
      registers,
    }),
    budgetWait: new Histogram({
      name: 'labelq_worker_byte_budget_wait_seconds',
      help: 'Waiting for room in WORKER_MAX_BYTES_IN_FLIGHT before the download',
      buckets: STAGE_BUCKETS,
      registers,
    }),
    poolWait: new Histogram({
      name: 'labelq_worker_pool_queue_wait_seconds',
      help: 'Waiting for a free inference pool thread',
      buckets: STAGE_BUCKETS,
      registers,
    }),
    decode: new Histogram({
      name: 'labelq_worker_decode_seconds',
      help: 'Decoding the image in a pool thread',
      buckets: STAGE_BUCKETS,
      registers,
    }),
    inference: new Histogram({
      name: 'labelq_worker_inference_seconds',
      help: 'One model on one image in a pool thread (preprocessing and session.run)',
      labelNames: ['model'] as const,
      buckets: STAGE_BUCKETS,
      registers,
    }),
    writeBack: new Histogram({
      name: 'labelq_worker_write_back_seconds',
      help: 'Writing the result document and the S3 tags',
      buckets: STAGE_BUCKETS,
      registers,
    }),
    attempt: new Histogram({
      name: 'labelq_worker_attempt_duration_seconds',
      help: 'One attempt in this worker, start to finish, by outcome',
      labelNames: ['outcome'] as const,
      buckets: STAGE_BUCKETS,
      registers,
    }),
    endToEnd: new Histogram({
      name: 'labelq_worker_end_to_end_seconds',
      help: 'From submission to the result written, for completed jobs',
      labelNames: ['purpose'] as const,
      buckets: WAIT_BUCKETS,
      registers,
    }),
    webhookDeliveries: new Counter({
      name: 'labelq_worker_webhook_deliveries_total',
      help: 'Webhook delivery attempts by outcome (delivered, retrying, dead: failed for good, skipped: endpoint disabled or gone) and event type',
      labelNames: ['outcome', 'event_type'] as const,
      registers,
    }),
    webhookRequest: new Histogram({
      name: 'labelq_worker_webhook_request_duration_seconds',
      help: "One webhook POST, connect to the receiver's answer (or the timeout), by outcome",
      labelNames: ['outcome'] as const,
      buckets: STAGE_BUCKETS,
      registers,
    }),
    webhookDelivery: new Histogram({
      name: 'labelq_worker_webhook_delivery_seconds',
      help: 'From the event to its successful delivery, retries included, by event type',
      labelNames: ['event_type'] as const,
      buckets: WAIT_BUCKETS,
      registers,
    }),
    /** Records one webhook delivery attempt (the webhooks worker's `onAttempt`). */
    webhookAttempt(a: DeliveryAttemptRecord): void {
      metrics.webhookDeliveries.inc({ outcome: a.outcome, event_type: a.type });
      if (a.requestMs !== undefined)
        metrics.webhookRequest.observe({ outcome: a.outcome }, a.requestMs / 1000);
      if (a.outcome === 'delivered')
        metrics.webhookDelivery.observe({ event_type: a.type }, a.sinceEventMs / 1000);
    },
    /** Connects the gauges to the runtime's live state (read at scrape time). */
    observe(s: WorkerGaugeSources): void {
      sources.current = s;
    },
  };

  const gauge = (name: string, help: string, value: (s: WorkerGaugeSources) => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(value));
      },
    });
  };
  gauge('labelq_worker_pool_threads', 'Inference pool threads', (s) => s.threads());
  gauge('labelq_worker_pool_tasks', 'Inference pool tasks running or queued', (s) => s.poolTasks());
  gauge('labelq_worker_pool_queue_length', 'Inference pool tasks waiting for a thread', (s) =>
    Math.max(0, s.poolTasks() - s.threads()),
  );
  gauge('labelq_worker_pool_utilization_ratio', 'Busy inference pool threads / threads (0 to 1)', (s) =>
    s.threads() === 0 ? 0 : Math.min(s.poolTasks(), s.threads()) / s.threads(),
  );
  gauge('labelq_worker_bytes_in_flight_bytes', 'Image bytes downloaded and not yet classified', (s) =>
    s.bytesInFlight(),
  );
  gauge('labelq_worker_bytes_in_flight_limit_bytes', 'WORKER_MAX_BYTES_IN_FLIGHT', (s) => s.bytesCapacity());
  gauge('labelq_worker_active_jobs', 'Jobs this process is running', (s) => s.activeJobs());
  // Apart: the urgent slots serve moderation jobs only, so counting them in the capacity that tagging throughput
  // and autoscaling read would overstate it.
  gauge('labelq_worker_concurrency', 'WORKER_CONCURRENCY: regular job slots', (s) => s.concurrency());
  gauge(
    'labelq_worker_urgent_concurrency',
    'WORKER_URGENT_CONCURRENCY: job slots held for moderation jobs',
    (s) => s.urgentConcurrency(),
  );
  new Gauge({
    name: 'labelq_worker_circuit_breaker_open',
    help: '1 while the circuit breaker of a dependency (s3) is open: S3 is unreachable and the worker takes no jobs',
    labelNames: ['dependency'] as const,
    registers,
    collect() {
      this.reset();
      for (const b of sources.current?.breakers() ?? [])
        this.set({ dependency: b.dependency }, b.open ? 1 : 0);
    },
  });
  gauge('labelq_worker_draining', '1 while the worker shuts down (finishing in-flight jobs)', (s) =>
    s.draining() ? 1 : 0,
  );
  return metrics;
}
