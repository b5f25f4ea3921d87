import type { Config } from '@labelq/config';
import { loadModerationPolicy, ReviewQueue, TenantPolicyStore } from '@labelq/moderation';
import type { ObjectStore } from '@labelq/storage';
import { createWebhookQueue, parseAllowedTargets, WebhookEvents, WebhookStore } from '@labelq/webhooks';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ApiWorkflow } from './deps.ts';
import { JobEventHub } from './job-events.ts';

/** The API's moderation-workflow dependencies and how to close what they opened. */
export interface ApiWorkflowRuntime {
  workflow: ApiWorkflow;
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
  const queue = createWebhookQueue(config, redis);
  queue.on('error', (err) => logger.debug({ err: err.message }, 'webhooks queue error'));
  const jobEvents = new JobEventHub(config, logger);
  return {
    workflow: {
      jobEvents,
      webhooks,
      webhookEvents: new WebhookEvents(queue, webhooks, 0),
      allowedTargets,
      reviews: new ReviewQueue(redis, prefix),
      policies: new TenantPolicyStore(redis, prefix),
      fallbackPolicy,
      objects,
    },
    async close() {
      await jobEvents.close();
      await queue.close().catch(() => undefined);
    },
  };
}
