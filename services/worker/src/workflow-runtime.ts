import type { Config } from '@labelq/config';
import { ReviewQueue, TenantPolicies, TenantPolicyStore, type ModerationPolicy } from '@labelq/moderation';
import { closeQueueClients, createWorkerConnection, settleWithin } from '@labelq/queue';
import {
  CallbackSecretStore,
  createWebhookQueue,
  createWebhookWorker,
  WebhookEvents,
  WebhookStore,
  type DeliveryAttemptRecord,
} from '@labelq/webhooks';
import type { Logger } from 'pino';
import type { WorkerWorkflow } from './workflow.ts';

/** The workflow's pieces a worker process owns. */
export interface WorkerWorkflowRuntime {
  hooks: WorkerWorkflow;
  /**
   * Closes the webhooks worker (its deliveries in flight finish first), the producer and both connections.
   * `force` (the worker's shutdown deadline passed, perhaps in a Redis partition): the webhooks worker gets at
   * most FORCED_CLOSE_MS, since BullMQ's close waits on Redis without a bound of its own.
   */
  close(force?: boolean): Promise<void>;
}

/** How long a forced close waits for the webhooks worker, ms. */
const FORCED_CLOSE_MS = 2000;

/**
 * Builds the worker's workflow hooks on their own Redis connection (policies, review queue, event producer)
 * and starts the webhooks worker (fan-out and deliveries, WEBHOOK_CONCURRENCY at once) beside the classify
 * worker.
 */
export async function createWorkerWorkflow(
  config: Config,
  fallback: ModerationPolicy,
  logger: Logger,
  onDeliveryAttempt?: (attempt: DeliveryAttemptRecord) => void,
): Promise<WorkerWorkflowRuntime> {
  const redis = createWorkerConnection(config.redis.url);
  redis.on('error', (err) => logger.debug({ err: err.message }, 'workflow redis error'));
  const prefix = config.redis.keyPrefix;
  const store = new WebhookStore(redis, prefix);
  const callbacks = new CallbackSecretStore(redis, prefix);
  const queue = createWebhookQueue(config, redis);
  const cacheMs = config.workflow.tenantPolicyCacheMs;
  const workerConnection = createWorkerConnection(config.redis.url);
  workerConnection.on('error', (err) => logger.debug({ err: err.message }, 'webhooks redis error'));
  const webhooksWorker = createWebhookWorker({
    config,
    connection: workerConnection,
    queue,
    store,
    logger: logger.child({ component: 'webhooks' }),
    ...(onDeliveryAttempt !== undefined ? { onAttempt: onDeliveryAttempt } : {}),
    callbacks,
  });
  await webhooksWorker.worker.waitUntilReady();
  return {
    hooks: {
      policies: new TenantPolicies(new TenantPolicyStore(redis, prefix), fallback, cacheMs),
      reviews: new ReviewQueue(redis, prefix),
      webhooks: new WebhookEvents(queue, store, cacheMs),
    },
    async close(force = false) {
      // Deliveries in flight finish first; then the producer and both connections, the safe way.
      const closing = webhooksWorker.close().catch(() => undefined);
      await (force ? settleWithin(closing, FORCED_CLOSE_MS) : closing);
      await closeQueueClients([queue], [redis, workerConnection]);
    },
  };
}
