import { LabelqError } from '@labelq/errors';
import { defaultCores, envSchema } from './schema.ts';

/** Retries of a webhook delivery: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (the Standard Webhooks / Svix shape). */
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS: readonly number[] = [
  5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
];

/** The validated, derived configuration. Frozen: nothing changes it after start. */
export interface Config {
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  redis: {
    url: string;
    keyPrefix: string;
    /** What a start does on a Redis that persists nothing (REDIS_PERSISTENCE). */
    persistence: 'refuse' | 'warn' | 'off';
  };
  queue: { name: string; prefix: string };
  s3: {
    endpoint: string | undefined;
    region: string;
    forcePathStyle: boolean;
    credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
    bucket: string;
    allowedBuckets: readonly string[];
    uploadsPrefix: string;
    resultsPrefix: string;
    checksums: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
    connectTimeoutMs: number;
    requestTimeoutMs: number;
    writeTags: boolean;
    /** S3_IO_THREADS: threads running the worker's S3 requests (0: its main thread). */
    ioThreads: number;
    /** Key prefix of the dashboard's cached thumbnails. */
    thumbnailsPrefix: string;
  };
  api: {
    host: string;
    port: number;
    maxUploadBytes: number;
    requestTimeoutMs: number;
    /** API_MAX_UPLOAD_BYTES_IN_FLIGHT */
    maxUploadBytesInFlight: number;
    /** API_MAX_CONNECTIONS */
    maxConnections: number;
    /** API_KEEP_ALIVE_TIMEOUT_MS */
    keepAliveTimeoutMs: number;
  };
  access: { disabled: boolean; rateLimitPerMinute: number; maxOpenJobs: number };
  models: { dir: string; names: readonly string[] | undefined };
  pool: {
    threads: number;
    /** POOL_URGENT_THREADS */
    urgentThreads: number;
    /** POOL_BULK_NICE */
    bulkNice: number;
    intraOpThreads: number;
    maxInputPixels: number;
    maxDecodeBytes: number;
  };
  worker: {
    concurrency: number;
    /** WORKER_URGENT_CONCURRENCY */
    urgentConcurrency: number;
    maxBytesInFlight: number;
    maxObjectBytes: number;
    attempts: number;
    backoffMs: number;
    shutdownTimeoutMs: number;
    lockDurationMs: number;
    maxStalledCount: number;
    keepCompletedSeconds: number;
    keepFailedSeconds: number;
    /** The worker's HTTP endpoint (/healthz, /readyz, /metrics); port 0 picks a free one. */
    http: { host: string; port: number };
  };
  moderation: { policyFile: string | undefined };
  tags: { minConfidence: number };
  batch: {
    window: number;
    pageSize: number;
    lookupConcurrency: number;
    runners: number;
    reportsPrefix: string;
  };
  /** What the CLI's API commands use. */
  cli: { apiUrl: string; apiKey: string | undefined };
  /** The moderation workflow (#10): wait, webhooks, tenant policies. */
  workflow: {
    maxWaitSeconds: number;
    webhookAllowedHosts: readonly string[];
    webhookRetryScheduleMs: readonly number[];
    webhookTimeoutMs: number;
    webhookDisableAfterFailures: number;
    webhookConcurrency: number;
    callbackUrlTenants: readonly string[];
    tenantPolicyCacheMs: number;
  };
  index: { databaseUrl: string | undefined; indexerEnabled: boolean; streamMaxEntries: number };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Validates `env` (default: process.env) into a frozen Config. Throws `config_invalid` naming every bad
 * variable. `cores` is injectable so thread defaults are testable.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  cores = defaultCores(),
): Config {
  // Empty strings mean "unset" (docker-compose passes `VAR=` for blanks).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new LabelqError('config_invalid', `Invalid configuration: ${problems}`, { details: { problems } });
  }
  const e = parsed.data;
  if ((e.S3_ACCESS_KEY_ID === undefined) !== (e.S3_SECRET_ACCESS_KEY === undefined)) {
    throw new LabelqError('config_invalid', 'Set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither');
  }
  if (e.API_MAX_UPLOAD_BYTES_IN_FLIGHT < e.MAX_UPLOAD_BYTES) {
    throw new LabelqError(
      'config_invalid',
      `API_MAX_UPLOAD_BYTES_IN_FLIGHT (${e.API_MAX_UPLOAD_BYTES_IN_FLIGHT}) must be at least MAX_UPLOAD_BYTES (${e.MAX_UPLOAD_BYTES}): a largest upload could never be received`,
    );
  }
  const threads = e.POOL_THREADS ?? Math.max(1, Math.floor(cores / e.INTRA_OP_THREADS));
  return deepFreeze<Config>({
    logLevel: e.LOG_LEVEL,
    redis: {
      url: e.REDIS_URL,
      keyPrefix: e.REDIS_KEY_PREFIX,
      persistence: e.REDIS_PERSISTENCE ?? (e.NODE_ENV === 'production' ? 'refuse' : 'warn'),
    },
    queue: { name: e.QUEUE_NAME, prefix: e.QUEUE_PREFIX },
    s3: {
      endpoint: e.S3_ENDPOINT,
      region: e.S3_REGION,
      forcePathStyle: e.S3_FORCE_PATH_STYLE ?? e.S3_ENDPOINT !== undefined,
      credentials:
        e.S3_ACCESS_KEY_ID !== undefined && e.S3_SECRET_ACCESS_KEY !== undefined
          ? { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY }
          : undefined,
      bucket: e.S3_BUCKET,
      allowedBuckets: e.S3_ALLOWED_BUCKETS ?? [e.S3_BUCKET],
      uploadsPrefix: e.S3_UPLOADS_PREFIX,
      resultsPrefix: e.S3_RESULTS_PREFIX,
      checksums: e.S3_CHECKSUMS,
      connectTimeoutMs: e.S3_CONNECT_TIMEOUT_MS,
      requestTimeoutMs: e.S3_REQUEST_TIMEOUT_MS,
      writeTags: e.S3_WRITE_TAGS,
      ioThreads: e.S3_IO_THREADS ?? Math.min(64, Math.max(1, Math.ceil(threads / 8))),
      thumbnailsPrefix: e.S3_THUMBNAILS_PREFIX,
    },
    api: {
      host: e.API_HOST,
      port: e.API_PORT,
      maxUploadBytes: e.MAX_UPLOAD_BYTES,
      requestTimeoutMs: e.API_REQUEST_TIMEOUT_MS,
      maxUploadBytesInFlight: e.API_MAX_UPLOAD_BYTES_IN_FLIGHT,
      maxConnections: e.API_MAX_CONNECTIONS,
      keepAliveTimeoutMs: e.API_KEEP_ALIVE_TIMEOUT_MS,
    },
    access: {
      disabled: e.AUTH_DISABLED,
      rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
      maxOpenJobs: e.TENANT_MAX_OPEN_JOBS,
    },
    models: { dir: e.MODELS_DIR, names: e.MODELS },
    pool: {
      threads,
      urgentThreads: e.POOL_URGENT_THREADS,
      bulkNice: e.POOL_BULK_NICE ?? (e.POOL_URGENT_THREADS > 0 ? 10 : 0),
      intraOpThreads: e.INTRA_OP_THREADS,
      maxInputPixels: e.MAX_INPUT_PIXELS,
      maxDecodeBytes: e.MAX_DECODE_BYTES_IN_FLIGHT,
    },
    worker: {
      concurrency: e.WORKER_CONCURRENCY ?? threads * 2 + 2,
      urgentConcurrency: e.WORKER_URGENT_CONCURRENCY ?? 2 * e.POOL_URGENT_THREADS,
      maxBytesInFlight: e.WORKER_MAX_BYTES_IN_FLIGHT,
      maxObjectBytes: e.MAX_OBJECT_BYTES,
      attempts: e.JOB_ATTEMPTS,
      backoffMs: e.JOB_BACKOFF_MS,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
      lockDurationMs: e.LOCK_DURATION_MS,
      maxStalledCount: e.MAX_STALLED_COUNT,
      keepCompletedSeconds: e.KEEP_COMPLETED_SECONDS,
      keepFailedSeconds: e.KEEP_FAILED_SECONDS,
      http: { host: e.WORKER_HTTP_HOST, port: e.WORKER_HTTP_PORT },
    },
    moderation: { policyFile: e.MODERATION_POLICY_FILE },
    tags: { minConfidence: e.TAG_MIN_CONFIDENCE },
    batch: {
      window: e.BATCH_WINDOW,
      pageSize: Math.min(1000, e.BATCH_PAGE_SIZE),
      lookupConcurrency: e.BATCH_LOOKUP_CONCURRENCY,
      runners: e.BATCH_RUNNERS,
      reportsPrefix: e.BATCH_REPORTS_PREFIX,
    },
    cli: { apiUrl: e.LABELQ_API_URL, apiKey: e.LABELQ_API_KEY },
    workflow: {
      maxWaitSeconds: e.MAX_WAIT_SECONDS,
      webhookAllowedHosts: e.WEBHOOK_ALLOWED_HOSTS ?? [],
      webhookRetryScheduleMs: e.WEBHOOK_RETRY_SCHEDULE_MS ?? DEFAULT_WEBHOOK_RETRY_SCHEDULE_MS,
      webhookTimeoutMs: e.WEBHOOK_TIMEOUT_MS,
      webhookDisableAfterFailures: e.WEBHOOK_DISABLE_AFTER_FAILURES,
      webhookConcurrency: e.WEBHOOK_CONCURRENCY,
      callbackUrlTenants: e.CALLBACK_URL_TENANTS ?? [],
      tenantPolicyCacheMs: e.TENANT_POLICY_CACHE_MS,
    },
    index: {
      databaseUrl: e.DATABASE_URL,
      indexerEnabled: e.INDEXER_ENABLED,
      streamMaxEntries: e.INDEX_STREAM_MAX_ENTRIES,
    },
  });
}
