import { z } from 'zod';
import { imageIdSchema } from './ids.ts';
import { tenantIdSchema } from './job-payload.ts';
import { moderationDecisionSchema, moderationReasonSchema } from './model-result.ts';
import { reviewDecisionSchema } from './review.ts';

/**
 * Contracts of the moderation workflow: webhook endpoints, events and delivery records (stored in Redis,
 * crossing API, worker and receivers), the review queue and tenant policies as the API answers them.
 */

/** Event types a webhook endpoint may subscribe to. */
export const WEBHOOK_EVENT_TYPES = [
  'image.completed',
  'image.failed',
  'image.review_required',
  'review.decided',
  'batch.completed',
] as const;
export const webhookEventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES);
export type WebhookEventType = z.infer<typeof webhookEventTypeSchema>;

export const webhookIdSchema = z.string().regex(/^wh_[0-9a-f]{16}$/, 'not a webhook id');
/** Standard Webhooks message id (`webhook-id`): the same for every retry of one event to one endpoint. */
export const webhookEventIdSchema = z.string().regex(/^evt_[0-9a-f]{32}$/, 'not an event id');

/**
 * One event, as queued for fan-out and as sent (`{type, timestamp, data}` is the Standard Webhooks payload
 * shape; `id` travels as the `webhook-id` header). Version 1.
 */
export const webhookEventSchema = z.object({
  v: z.literal(1),
  id: webhookEventIdSchema,
  tenant: tenantIdSchema,
  type: webhookEventTypeSchema,
  /** ISO time the event happened. */
  timestamp: z.string(),
  data: z.record(z.string(), z.unknown()),
  /** A one-off receiver named by the request (`callbackUrl`), besides the tenant's endpoints. */
  callbackUrl: z.string().optional(),
});
export type WebhookEvent = z.infer<typeof webhookEventSchema>;

/** `POST /v1/webhooks`. */
export const createWebhookRequestSchema = z.strictObject({
  url: z.string().min(1).max(2048),
  events: z.array(webhookEventTypeSchema).min(1).max(WEBHOOK_EVENT_TYPES.length),
  description: z.string().max(200).optional(),
});

/** `POST /v1/webhooks/:id/rotate`: the old secret keeps signing (beside the new one) for `overlapSeconds`. */
export const rotateWebhookSecretRequestSchema = z.strictObject({
  overlapSeconds: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .default(86_400),
});

/** An endpoint as lists show it (never its secret). */
export const webhookInfoSchema = z.object({
  id: webhookIdSchema,
  url: z.string(),
  events: z.array(webhookEventTypeSchema),
  description: z.string().optional(),
  createdAt: z.string(),
  /** Disabled after a run of failed attempts (or by the tenant); `POST /v1/webhooks/:id/enable` re-enables. */
  disabled: z.boolean(),
  disabledAt: z.string().optional(),
  consecutiveFailures: z.number().int().nonnegative(),
  /** While an old secret still signs after a rotation: until when. */
  previousSecretExpiresAt: z.string().optional(),
});
export type WebhookInfo = z.infer<typeof webhookInfoSchema>;

/** `POST /v1/webhooks` and the rotation answer: the `whsec_...` secret, shown only here. */
export const createdWebhookSchema = webhookInfoSchema.extend({ secret: z.string().startsWith('whsec_') });

/** One delivery attempt, as `GET /v1/webhooks/:id/deliveries` lists them (newest first). */
export const webhookAttemptSchema = z.object({
  eventId: webhookEventIdSchema,
  type: webhookEventTypeSchema,
  attempt: z.number().int().positive(),
  at: z.string(),
  /** `delivered` (2xx), `retrying` (another attempt is scheduled), `dead` (last attempt failed: dead-lettered). */
  status: z.enum(['delivered', 'retrying', 'dead']),
  /** The receiver's HTTP status; absent when none came (timeout, refused, SSRF block). */
  statusCode: z.number().int().optional(),
  latencyMs: z.number().nonnegative(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  nextAttemptAt: z.string().optional(),
});
export type WebhookAttempt = z.infer<typeof webhookAttemptSchema>;

/**
 * One attempt to deliver to a request's `callbackUrl`, as `GET /v1/callbacks/deliveries` lists them (newest
 * first): a webhook attempt and the URL it went to. Not sent at all is `dead` with a code saying why
 * (`callback_not_allowed`: the installation no longer allows the tenant callbacks; `callback_not_enabled`: the
 * tenant deleted its callback secret).
 */
export const callbackAttemptSchema = webhookAttemptSchema.extend({ url: z.string() });
export type CallbackAttempt = z.infer<typeof callbackAttemptSchema>;

/** `POST /v1/reviews/:id`. */
export const reviewRequestSchema = z.strictObject({
  decision: reviewDecisionSchema,
  note: z.string().max(2000).optional(),
  /** Replace an earlier human decision. Default false (deciding twice is 409 `review_already_decided`). */
  force: z.boolean().default(false),
});

/** One entry of the review queue (`GET /v1/reviews`). */
export const reviewItemSchema = z.object({
  id: imageIdSchema,
  /** Where the image is (uploads: the stored upload's key). */
  source: z.object({ bucket: z.string(), key: z.string() }),
  modelDecision: moderationDecisionSchema,
  reasons: z.array(moderationReasonSchema),
  policy: z.string(),
  /** When the model decided `review` (the queue is oldest first). */
  queuedAt: z.string(),
  /** Present once a person decided. */
  decision: reviewDecisionSchema.optional(),
  decidedBy: z.string().optional(),
  decidedAt: z.string().optional(),
  links: z.object({ image: z.string() }),
});
export type ReviewItem = z.infer<typeof reviewItemSchema>;

/** `GET/PUT /v1/policy`: the tenant's stored policy file and its revision. */
export const tenantPolicyBodySchema = z.object({
  tenant: tenantIdSchema,
  /** Monotonic per tenant, 0 when the tenant never set one (the installation's policy applies). */
  revision: z.number().int().nonnegative(),
  /** What results record in `moderation.policy`. */
  version: z.string(),
  /** The effective thresholds (the stored file merged over the defaults). */
  policy: z.object({
    version: z.string(),
    block: z.record(z.string(), z.number()),
    review: z.record(z.string(), z.number()),
    /** Rules over detector labels and OCR text (see docs/moderation.md), when the policy has any. */
    rules: z.array(z.unknown()).optional(),
  }),
  updatedAt: z.string().optional(),
  updatedBy: z.string().optional(),
});
export type TenantPolicyBody = z.infer<typeof tenantPolicyBodySchema>;

/**
 * `GET /v1/callbacks`: whether this tenant may name a per-request `callbackUrl` (`allowed`: the installation's
 * CALLBACK_URL_TENANTS) and has turned callbacks on (`enabled`: a callback secret exists). Never the secret.
 */
export const callbackSettingsSchema = z.object({
  allowed: z.boolean(),
  enabled: z.boolean(),
  /** When the current secret was created. */
  createdAt: z.string().optional(),
  /** While the previous secret still signs after a rotation: until when. */
  previousSecretExpiresAt: z.string().optional(),
});
export type CallbackSettings = z.infer<typeof callbackSettingsSchema>;

/** `POST /v1/callbacks/secret`: the new `whsec_...` secret, shown only in this answer. */
export const createdCallbackSecretSchema = callbackSettingsSchema.extend({
  secret: z.string().startsWith('whsec_'),
});
