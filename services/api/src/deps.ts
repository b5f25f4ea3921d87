import type { Config } from '@labelq/config';
import type { ModelInfo } from '@labelq/contracts';
import type { ClassifyQueue } from '@labelq/queue';
import type { KeyStore, OpenJobs } from '@labelq/access';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ApiMetrics } from './metrics/api-metrics.ts';
import type { BatchApiDeps } from './batch/deps.ts';
import type { ApiWorkflow } from './workflow/deps.ts';
import type { LiveIndexWriter, SearchService } from '@labelq/index';

/** The few object-store operations the API needs, on the configured bucket (adapted from @labelq/storage). */
export interface ApiStorage {
  /** Stores `body` at `key` in the configured bucket. Rejects with a coded LabelqError. */
  putObject(key: string, body: Uint8Array, contentType: string): Promise<void>;
  /**
   * Deletes `key` from the configured bucket (an upload whose job could not be queued). Optional: without it
   * such objects stay behind. Rejects with a coded LabelqError.
   */
  deleteObject?(key: string): Promise<void>;
  /** The raw JSON of a tenant's image's result or failure document; `undefined` when there is none. */
  getDocument(tenant: string, imageId: string): Promise<unknown>;
}

/** One dependency `/readyz` checks. */
export interface ReadinessCheck {
  /** Shown in the 503 body, e.g. `redis`, `s3`. */
  name: string;
  /** Resolves when the dependency answers; rejects (or times out) otherwise. */
  check(): Promise<void>;
}

/** Everything the API needs, built by server.ts (or a test, or the demo). */
export interface ApiDeps {
  config: Config;
  logger: Logger;
  /** BullMQ queue on a connection with `enableOfflineQueue: false`, so a Redis outage fails fast. */
  queue: ClassifyQueue;
  storage: ApiStorage;
  /** The models workers load: the default model set, what `models=` may name, and `GET /v1/models`. */
  models: readonly ModelInfo[];
  /** Checked by `/readyz`, in parallel. Default: none (always ready). */
  readiness?: readonly ReadinessCheck[];
  /**
   * Longest a queue or readiness operation may take before the API answers 503, ms. Default 1000: a Redis
   * outage must answer quickly, never hang.
   */
  dependencyTimeoutMs?: number;
  /**
   * API keys: every `/v1` request needs one (health, readiness and the OpenAPI document stay open). Absent:
   * authentication is off (AUTH_DISABLED), every request is the default tenant with every scope.
   */
  keys?: KeyStore;
  /** Per-tenant open-job reservations (TENANT_MAX_OPEN_JOBS). Absent: no cap. */
  openJobs?: OpenJobs;
  /** Per-key request rate limit, counted in this Redis so it holds across API replicas. Absent: none. */
  rateLimit?: { redis: Redis; perMinute: number; prefix: string };
  /** Prometheus metrics served at `/metrics`. Default: a registry of this app's own. */
  metrics?: ApiMetrics;
  /** Batches (`/v1/batches`). Absent: those routes are not registered. */
  batches?: BatchApiDeps;
  /** The moderation workflow: wait=N, webhooks, reviews, tenant policies, live events. Absent: those routes are off. */
  workflow?: ApiWorkflow;
  /** The results index (DATABASE_URL). Absent: the search routes answer 503 `index_not_configured`. */
  search?: SearchService;
  /** Puts documents the API rewrites (review decisions) into the results index at once. Absent: no index. */
  resultsIndex?: LiveIndexWriter;
}
