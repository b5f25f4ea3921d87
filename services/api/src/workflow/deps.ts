import type { ModerationPolicy, ReviewQueue, TenantPolicyStore } from '@labelq/moderation';
import type { ObjectStore } from '@labelq/storage';
import type { AllowedTargets, CallbackSecretStore, WebhookEvents, WebhookStore } from '@labelq/webhooks';
import type { BatchEventHub } from './batch-events.ts';
import type { JobEventHub } from './job-events.ts';

/** What the moderation-workflow routes need (#10), built by server.ts (or a test). */
export interface ApiWorkflow {
  /** The classify queue's events, one subscription per process: `wait=N` and SSE. */
  jobEvents: JobEventHub;
  /** Batch change announcements, one subscription per process: batch SSE. */
  batchEvents: BatchEventHub;
  webhooks: WebhookStore;
  /** Tenants' callback secrets: per-request `callbackUrl` is on for a tenant that has one. */
  callbacks: CallbackSecretStore;
  /** Producer of webhook events (the review route's `review.decided`). */
  webhookEvents: WebhookEvents;
  /** WEBHOOK_ALLOWED_HOSTS, parsed. */
  allowedTargets: AllowedTargets;
  reviews: ReviewQueue;
  policies: TenantPolicyStore;
  /** The installation's policy (MODERATION_POLICY_FILE or the defaults), for tenants without their own. */
  fallbackPolicy: ModerationPolicy;
  /** Result documents and source tags (a review rewrites both). */
  objects: ObjectStore;
}
