import { availableParallelism } from 'node:os';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
const int = (min = 0) => z.coerce.number().int().min(min);

/**
 * Every environment variable labelq reads, with its default. The README's configuration table is generated
 * from the same names: keep the TSDoc here accurate.
 */
export const envSchema = z.object({
  /** pino log level. Default `info`. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  /** Redis connection URL shared by API and workers. Default `redis://127.0.0.1:6379`. */
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /** BullMQ queue name. Default `labelq`. */
  QUEUE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('labelq'),
  /** Prefix of labelq's own Redis keys (API keys, quotas, rate limits). Default `labelq`. */
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('labelq'),
  /**
   * What API and worker do at start when Redis persists nothing (`appendonly no` and no `save` points), so a
   * Redis restart would lose every accepted job: `refuse` (exit with `redis_not_persistent`), `warn` (log an
   * error and run) or `off`. Default `refuse` when NODE_ENV is `production` (the container image), else `warn`.
   */
  REDIS_PERSISTENCE: z.enum(['refuse', 'warn', 'off']).optional(),
  /** `production` in the container image: makes REDIS_PERSISTENCE default to `refuse`. Unset by default. */
  NODE_ENV: z.string().optional(),
  /** BullMQ key prefix in Redis. Default `bull`. */
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('bull'),

  /** S3 endpoint for MinIO or another S3-compatible server; unset for AWS S3. */
  S3_ENDPOINT: z.string().url().optional(),
  /** S3 region. Default `us-east-1`. */
  S3_REGION: z.string().default('us-east-1'),
  /** Path-style addressing (needed by MinIO and s3rver). Default `true` when S3_ENDPOINT is set. */
  S3_FORCE_PATH_STYLE: bool.optional(),
  /** Static credentials; unset to use the AWS SDK's default provider chain (IAM role, profile, ...). */
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  /** Bucket for uploads and result documents. Default `labelq`. */
  S3_BUCKET: z.string().min(3).default('labelq'),
  /** Buckets `POST /v1/jobs` may read from (comma-separated). Default: S3_BUCKET only. */
  S3_ALLOWED_BUCKETS: list.optional(),
  /** Key prefix for uploaded images. Default `uploads/`. */
  S3_UPLOADS_PREFIX: z.string().default('uploads/'),
  /** Key prefix for result documents. Default `results/`. */
  S3_RESULTS_PREFIX: z.string().default('results/'),
  /**
   * SDK checksum mode for requests and responses. `WHEN_REQUIRED` is needed by servers that do not understand
   * aws-chunked uploads (s3rver). Default `WHEN_SUPPORTED`.
   */
  S3_CHECKSUMS: z.enum(['WHEN_SUPPORTED', 'WHEN_REQUIRED']).default('WHEN_SUPPORTED'),
  /** TCP connect timeout for S3, ms. Default 3000. */
  S3_CONNECT_TIMEOUT_MS: int(1).default(3000),
  /**
   * S3 request timeout, ms: the socket may idle no longer than this, and a worker's download of a source
   * object (headers and body) must finish within it in all (`timeout`, retried, otherwise). Default 30000.
   */
  S3_REQUEST_TIMEOUT_MS: int(1).default(30_000),
  /** Key prefix of the dashboard's cached thumbnails (`<prefix><tenant>/…webp`). Default `thumbnails/`. */
  S3_THUMBNAILS_PREFIX: z.string().default('thumbnails/'),
  /** Write S3 object tags (top labels, moderation decision) on the source object. Default `true`. */
  S3_WRITE_TAGS: bool.default(true),
  /**
   * Worker threads that run the worker's S3 requests, each with its own client, so that the AWS SDK's CPU (1 to 4
   * ms per request) stays off the event loop that runs BullMQ and hands images to the pool. 0: on the main
   * thread. Default: one per 8 POOL_THREADS (1 up to 8): a thread serves a few hundred requests a second, four per
   * image, and a pool thread classifies at most tens of images a second.
   */
  S3_IO_THREADS: int(0).max(64).optional(),

  /** API listen address. Default `0.0.0.0`. */
  API_HOST: z.string().default('0.0.0.0'),
  /** API port (0 picks a free one). Default 8080. */
  API_PORT: int(0).default(8080),
  /**
   * Turns API keys off: every request acts as the `default` tenant with every scope, and the API logs a warning
   * at start. Only for an API reachable by trusted clients alone. Default `false`.
   */
  AUTH_DISABLED: bool.default(false),
  /** Requests per minute one API key may make (all API replicas together). Default 1200. */
  RATE_LIMIT_PER_MINUTE: int(1).default(1200),
  /** Jobs a tenant may have queued or running at once; more answer 429 `tenant_queue_full`. Default 100000. */
  TENANT_MAX_OPEN_JOBS: int(1).default(100_000),
  /** Longest an HTTP request (headers and body) may take, ms; a slower one gets 408 `request_timeout`. Default 60000. */
  API_REQUEST_TIMEOUT_MS: int(1000).default(60_000),
  /**
   * Bytes of upload bodies one API process holds at once (each upload reserves its Content-Length, or
   * MAX_UPLOAD_BYTES when unknown, before reading); more answer 503 `uploads_busy` with Retry-After, so memory
   * stays bounded under a flood. At least MAX_UPLOAD_BYTES. Default 268435456 (256 MiB).
   */
  API_MAX_UPLOAD_BYTES_IN_FLIGHT: int(1).default(256 * 1024 * 1024),
  /** Open connections one API process accepts; more are closed at once. Default 1024. */
  API_MAX_CONNECTIONS: int(1).default(1024),
  /** How long an idle keep-alive connection stays open between requests, ms. Default 5000. */
  API_KEEP_ALIVE_TIMEOUT_MS: int(1).default(5000),
  /** Largest accepted upload, bytes. Default 26214400 (25 MiB). */
  MAX_UPLOAD_BYTES: int(1).default(25 * 1024 * 1024),
  /** Largest S3 object a worker downloads, bytes. Default 52428800 (50 MiB). */
  MAX_OBJECT_BYTES: int(1).default(50 * 1024 * 1024),

  /** Folder holding the .onnx files and their manifests. Default `models`. */
  MODELS_DIR: z.string().default('models'),
  /** Models to load (comma-separated manifest names). Default: every manifest in MODELS_DIR. */
  MODELS: list.optional(),
  /** onnxruntime intra-op threads per session. Default 1. */
  INTRA_OP_THREADS: int(1).default(1),
  /** Piscina worker threads. Default: available cores / INTRA_OP_THREADS (at least 1). */
  POOL_THREADS: int(1).optional(),
  /**
   * Pool threads beside POOL_THREADS that run only moderation images, so one never waits for a thread to finish a
   * tagging image; idle otherwise, each holds its own sessions of every model. 0: none (moderation images go first
   * in the queue for the POOL_THREADS only). Default 1.
   */
  POOL_URGENT_THREADS: int(0).default(1),
  /**
   * OS nice value (0 to 19) of the POOL_THREADS threads (Linux: per thread; ignored elsewhere), so a running
   * urgent thread gets most of a core while they are busy. Default 10 with POOL_URGENT_THREADS > 0, else 0.
   */
  POOL_BULK_NICE: int(0).max(19).optional(),
  /** Images larger than this many pixels fail with `image_too_large`. Default 100000000. */
  MAX_INPUT_PIXELS: int(1).default(100_000_000),

  /** Jobs one worker process runs at once (downloads overlap inference). Default: 2 x pool threads + 2. */
  WORKER_CONCURRENCY: int(1).optional(),
  /**
   * Job slots per worker process beside WORKER_CONCURRENCY that take only moderation jobs: a second BullMQ worker
   * that fetches while a moderation job waits, so one never waits for a tagging job to finish. 0: none.
   * Default 2 x POOL_URGENT_THREADS.
   */
  WORKER_URGENT_CONCURRENCY: int(0).optional(),
  /** Cap on image bytes downloaded but not yet classified, per worker process. Default 268435456. */
  WORKER_MAX_BYTES_IN_FLIGHT: int(1).default(256 * 1024 * 1024),
  /** Attempts per job for transient failures. Default 5. */
  JOB_ATTEMPTS: int(1).default(5),
  /** Base delay of the exponential backoff between attempts, ms (jitter added). Default 1000. */
  JOB_BACKOFF_MS: int(0).default(1000),
  /**
   * How long a worker waits for in-flight jobs on SIGTERM before giving up, ms; the API exits after this (at least
   * 10 s) if its stop hangs. Default 30000.
   */
  SHUTDOWN_TIMEOUT_MS: int(0).default(30_000),
  /** BullMQ lock duration, ms; a worker that dies loses its jobs to others after this. Default 30000. */
  LOCK_DURATION_MS: int(1000).default(30_000),
  /**
   * Times a job may stall (its worker died, hung, or abandoned it at the shutdown deadline, so its lock expired)
   * and still be re-run; one more stall fails it with `job_stalled`. Default 1.
   */
  MAX_STALLED_COUNT: int(0).default(1),
  /** Completed jobs kept in Redis this many seconds (results stay in S3). Default 86400. */
  KEEP_COMPLETED_SECONDS: int(0).default(86_400),
  /** Failed jobs kept in Redis this many seconds. Default 604800. */
  KEEP_FAILED_SECONDS: int(0).default(604_800),

  /** Listen address of the worker's HTTP endpoint (/healthz, /readyz, /metrics). Default `0.0.0.0`. */
  WORKER_HTTP_HOST: z.string().default('0.0.0.0'),
  /**
   * Port of the worker's HTTP endpoint (/healthz, /readyz, /metrics); 0 picks a free one (several workers on one
   * host, tests), and the worker logs the URL it got. Default 9464.
   */
  WORKER_HTTP_PORT: int(0).default(9464),

  /** JSON file overriding the moderation policy's thresholds; unset for the calibrated defaults. */
  MODERATION_POLICY_FILE: z.string().optional(),
  /** Labels below this confidence are not written as S3 tags. Default 0.3. */
  TAG_MIN_CONFIDENCE: z.coerce.number().min(0).max(1).default(0.3),

  /** Most classify jobs one batch may have queued and unfinished at once; listing goes on as they finish. Default 1000. */
  BATCH_WINDOW: int(1).default(1000),
  /** Objects per listing page (ListObjectsV2 MaxKeys, at most 1000) and manifest lines per page. Default 1000. */
  BATCH_PAGE_SIZE: int(1).default(1000),
  /** S3 reads at once when a batch decides `missing`/`stale` from the result documents. Default 32. */
  BATCH_LOOKUP_CONCURRENCY: int(1).default(32),
  /** Batches one worker process runs (lists and queues) at once; 0 turns the batch role off there. Default 4. */
  BATCH_RUNNERS: int(0).default(4),
  /** The API the CLI's `batch` commands talk to (`--api` overrides). Default `http://127.0.0.1:8080`. */
  LABELQ_API_URL: z.string().url().default('http://127.0.0.1:8080'),
  /** The API key the CLI sends (`--key` overrides); unset: none (an API with AUTH_DISABLED). */
  LABELQ_API_KEY: z.string().min(1).optional(),
  /** Key prefix (results bucket) of batch item pages and completion reports. Default `reports/`. */
  BATCH_REPORTS_PREFIX: z.string().default('reports/'),

  /**
   * Decode memory, estimated from each image's header before decoding (pixels, channels, progressive-JPEG
   * coefficients, the shrink-on-load size), that a worker's pool may have in flight; an image needing more than
   * this runs alone. Default 268435456.
   */
  MAX_DECODE_BYTES_IN_FLIGHT: int(1).default(256 * 1024 * 1024),
  /** Longest `wait=N` (query or `Prefer: wait=N`) `POST /v1/images` may ask for, seconds. Default 30. */
  MAX_WAIT_SECONDS: int(0).default(30),
  /**
   * Private hosts webhooks may reach (comma-separated host names, host:port or CIDRs), for tests and on-prem
   * receivers; anything else that resolves to a loopback, private, link-local or metadata address is refused.
   * Default: none.
   */
  WEBHOOK_ALLOWED_HOSTS: list.optional(),
  /**
   * Delays before each retry of a webhook delivery, ms, comma-separated: its length is the number of retries;
   * after the last one the delivery is dead-lettered. Default `5000,300000,1800000,7200000,18000000,36000000,36000000`
   * (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: about 27.6 hours in all).
   */
  WEBHOOK_RETRY_SCHEDULE_MS: list
    .pipe(z.array(z.string().regex(/^\d+$/).transform(Number)).min(1))
    .optional(),
  /** One delivery attempt (connect, send, response) must finish within this, ms. Default 10000. */
  WEBHOOK_TIMEOUT_MS: int(1).default(10_000),
  /** Consecutive failed attempts after which an endpoint is disabled until its tenant re-enables it. Default 20. */
  WEBHOOK_DISABLE_AFTER_FAILURES: int(1).default(20),
  /** Webhook deliveries one worker process makes at once. Default 16. */
  WEBHOOK_CONCURRENCY: int(1).default(16),
  /** Tenants whose requests may carry a one-off `callbackUrl` (comma-separated; `*` for all). Default: none. */
  CALLBACK_URL_TENANTS: list.optional(),
  /** How long a worker caches a tenant's moderation policy (and whether it has webhooks), ms. Default 5000. */
  TENANT_POLICY_CACHE_MS: int(0).default(5000),
  /**
   * PostgreSQL URL of the results index (`postgres://user:pass@host:5432/db`). Unset: no index (search routes
   * answer 503 `index_unavailable`, workers record no outcomes for it).
   */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL')
    .optional(),
  /** Run the indexer (outcome stream -> Postgres) inside each worker process. Default `true`. */
  INDEXER_ENABLED: bool.default(true),
  /**
   * Most outcomes the index's Redis stream holds before it is caught up; past it workers stop appending (they
   * count the overflow and the index needs `labelq reindex`), classification goes on. Default 100000.
   */
  INDEX_STREAM_MAX_ENTRIES: int(100).default(100_000),
});

export type Env = z.infer<typeof envSchema>;

/** Cores this process may use; a seam so tests can pin it. */
export function defaultCores(): number {
  return Math.max(1, availableParallelism());
}
