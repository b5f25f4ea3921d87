import type { Config } from '@labelq/config';
import {
  BatchStore,
  createBatchRole,
  withBatchOutcomes as wrap,
  type BatchFinishedHook,
} from '@labelq/batch';
import type { ResultDocument, StoredJobPayload } from '@labelq/contracts';
import type { InferencePool } from '@labelq/inference';
import type { ModerationPolicy } from '@labelq/moderation';
import { closeQueueClients, createClassifyQueue } from '@labelq/queue';
import type { ObjectStore } from '@labelq/storage';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** The classify processor, recording batch items' outcomes in their batch (see @labelq/batch withBatchOutcomes). */
export function withBatchOutcomes(
  config: Config,
  connection: Redis,
  logger: Logger,
  abandoned: AbortSignal,
  processor: (job: Job<StoredJobPayload>) => Promise<ResultDocument>,
): (job: Job<StoredJobPayload>) => Promise<ResultDocument> {
  const store = new BatchStore(connection, config.redis.keyPrefix);
  // A cancelled batch's item completes without a value.
  return wrap(processor, store, logger, abandoned) as (job: Job<StoredJobPayload>) => Promise<ResultDocument>;
}

/** Starts the batch role in this worker process unless BATCH_RUNNERS is 0. */
export function startBatchRole(deps: {
  config: Config;
  connection: Redis;
  store: ObjectStore;
  pool: InferencePool;
  policy: ModerationPolicy;
  logger: Logger;
  onFinished?: BatchFinishedHook;
  /** The policy version a result made now for a tenant records (`stale` mode). Default: `policy.version`. */
  policyVersion?: (tenant: string) => Promise<string>;
}): { close(): Promise<void> } | undefined {
  const { config, connection } = deps;
  if (config.batch.runners === 0) return undefined;
  const classifyQueue = createClassifyQueue(config, connection);
  const role = createBatchRole(
    {
      config,
      store: new BatchStore(connection, config.redis.keyPrefix),
      s3: deps.store,
      classifyQueue,
      models: deps.pool.manifests.map((m) => ({ name: m.name, version: m.version, sha256: m.sha256 })),
      // One policy per installation today; per-tenant policy versions plug in here.
      policyVersion: deps.policyVersion ?? (() => deps.policy.version),
      logger: deps.logger.child({ role: 'batch' }),
      ...(deps.onFinished !== undefined ? { onFinished: deps.onFinished } : {}),
    },
    connection,
  );
  return {
    close: async () => {
      await role.close();
      // Shares the worker's connection, which the runtime ends last (closeQueueClients says why).
      await closeQueueClients([classifyQueue], []);
    },
  };
}
