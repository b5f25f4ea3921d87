import type { Config } from '@labelq/config';
import type { ModelInfo } from '@labelq/contracts';
import type { ClassifyQueue } from '@labelq/queue';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/** The few object-store operations the API needs, on the configured bucket (adapted from @labelq/storage). */
export interface ApiStorage {
  /** Stores `body` at `key` in the configured bucket. Rejects with a coded LabelqError. */
  putObject(key: string, body: Uint8Array, contentType: string): Promise<void>;
  /** The raw JSON of an image's result or failure document; `undefined` when there is none. */
  getDocument(imageId: string): Promise<unknown>;
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
   * Runs first on every `/v1` request (the access layer's authentication goes here); health, readiness and
   * the OpenAPI document stay open. Default: none.
   */
  authenticate?: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
}
