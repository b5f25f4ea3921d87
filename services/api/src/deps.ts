import type { Config } from '@labelq/config';
import type { ClassifyJobData } from '@labelq/queue';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';

/** The few object-store operations the API needs, on the configured bucket (adapted from @labelq/storage). */
export interface ApiStorage {
  /** Stores `body` at `key` in the configured bucket. Rejects with a coded LabelqError. */
  putObject(key: string, body: Uint8Array, contentType: string): Promise<void>;
  /** Reads and parses a JSON document from the configured bucket; `undefined` when it does not exist. */
  getJson(key: string): Promise<unknown>;
}

/** One dependency `/readyz` checks. */
export interface ReadinessCheck {
  /** Shown in the 503 body, e.g. `redis`, `s3`. */
  name: string;
  /** Resolves when the dependency answers; rejects (or times out) otherwise. */
  check(): Promise<void>;
}

/** Everything the API needs, built by main.ts (or a test, or the demo). */
export interface ApiDeps {
  config: Config;
  logger: Logger;
  /** BullMQ queue on a connection with `enableOfflineQueue: false`, so a Redis outage fails fast. */
  queue: Queue<ClassifyJobData>;
  storage: ApiStorage;
  /** Names of the models workers load; the default model set and what `models=` may name. */
  models: readonly string[];
  /** Checked by `/readyz`, in parallel. Default: none (always ready). */
  readiness?: readonly ReadinessCheck[];
  /**
   * Longest a queue or readiness operation may take before the API answers 503, ms. Default 1000: a Redis
   * outage must answer quickly, never hang.
   */
  dependencyTimeoutMs?: number;
}
