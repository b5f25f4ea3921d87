import type { Config } from '@labelq/config';
import { BatchStore } from '@labelq/batch';
import { loadModerationPolicy, ReviewQueue, TenantPolicyStore } from '@labelq/moderation';
import type { ObjectStore } from '@labelq/storage';
import {
  CallbackSecretStore,
  createWebhookQueue,
  parseAllowedTargets,
  WebhookEvents,
  WebhookStore,
} from '@labelq/webhooks';
import { closeQueueClients, settleWithin } from '@labelq/queue';
import { Redis as IORedis, type Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ApiWorkflow } from './deps.ts';
import { BatchEventHub } from './batch-events.ts';
import { JobEventHub } from './job-events.ts';

/** The API's moderation-workflow dependencies and how to close what they opened. */
export interface ApiWorkflowRuntime {
  workflow: ApiWorkflow;
  /** Closes every connection the workflow opened; bounded, never rejects. */
  close(): Promise<void>;
}

/**
 * Builds the workflow dependencies on the API's Redis connection (stores, the webhook event producer) plus
 * the one job-event subscription of this process (its own blocking connection). Rejects with
 * `config_invalid` for a bad MODERATION_POLICY_FILE or WEBHOOK_ALLOWED_HOSTS.
 */
export async function createApiWorkflow(
  config: Config,
  redis: Redis,
  objects: ObjectStore,
  logger: Logger,
): Promise<ApiWorkflowRuntime> {
  const prefix = config.redis.keyPrefix;
  const fallbackPolicy = await loadModerationPolicy(config.moderation.policyFile);
  const allowedTargets = parseAllowedTargets(config.workflow.webhookAllowedHosts);
  const webhooks = new WebhookStore(redis, prefix);
  // Its own connection: BullMQ loads its Lua scripts on first use, which can take longer than the API
  // connection's 1 s command timeout on a busy machine; a failed enqueue still answers 503 at once.
  const queueRedis = new IORedis(config.redis.url, {
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 10_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  queueRedis.on('error', (err) => logger.debug({ err: err.message }, 'webhooks queue redis error'));
  const queue = createWebhookQueue(config, queueRedis);
  queue.on('error', (err) => logger.debug({ err: err.message }, 'webhooks queue error'));
  const jobEvents = new JobEventHub(config, logger);
  const batchStore = new BatchStore(redis, prefix);
  const batchEvents = new BatchEventHub(config.redis.url, logger, {
    channel: (id) => batchStore.keys(id).changes,
    read: async (id) => {
      const s = await batchStore.read(id);
      return s === undefined ? undefined : batchStore.view(s);
    },
  });
  return {
    workflow: {
      jobEvents,
      batchEvents,
      webhooks,
      callbacks: new CallbackSecretStore(redis, prefix),
      webhookEvents: new WebhookEvents(queue, webhooks, 0),
      allowedTargets,
      reviews: new ReviewQueue(redis, prefix),
      policies: new TenantPolicyStore(redis, prefix),
      fallbackPolicy,
      objects,
    },
    // Side by side and each bounded (see closeQueueClients): one that hangs on a Redis gone does not leave the
    // others open. Never rejects.
    async close() {
      await Promise.all([
        jobEvents.close(),
        settleWithin(batchEvents.close(), 2000),
        closeQueueClients([queue], [queueRedis]),
      ]);
    },
  };
}
