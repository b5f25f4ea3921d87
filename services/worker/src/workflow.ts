import {
  parseJobPayload,
  tenantIdSchema,
  type Batch,
  type ClassifyJob,
  type ResultDocument,
} from '@labelq/contracts';
import type { LabelqError } from '@labelq/errors';
import {
  isStaleDecision,
  redecide,
  type ModerationPolicy,
  type ReviewQueue,
  type TenantPolicies,
} from '@labelq/moderation';
import {
  completedImageEvents,
  failedImageEvent,
  webhookEvent,
  type ImageEventTarget,
  type WebhookEvents,
} from '@labelq/webhooks';
import type { Logger } from 'pino';
import { reusableResult } from './result-document.ts';
import type { ModelRef } from '@labelq/contracts';

/**
 * The moderation workflow's part in a classify job (#10): the tenant's policy, re-deciding a stale result from
 * its stored scores, the review queue, and webhook events. Each is one or two Redis commands; nothing here
 * makes HTTP requests (deliveries run on the webhooks queue).
 */
export interface WorkerWorkflow {
  policies: TenantPolicies;
  reviews: ReviewQueue;
  webhooks: WebhookEvents;
}

/** The policy a tenant's job is decided with (its own, else MODERATION_POLICY_FILE or the defaults). */
export function policyFor(
  workflow: WorkerWorkflow | undefined,
  fallback: ModerationPolicy,
  tenant: string,
): Promise<ModerationPolicy> {
  return workflow ? workflow.policies.forTenant(tenant) : Promise.resolve(fallback);
}

/**
 * A stored result for the same bytes and models whose decision was made with another policy, re-decided under
 * `policy` from its stored scores (no download, no inference); undefined when there is none to re-decide.
 * This is how a `stale` re-run (a resubmission after a policy change) works.
 */
export function redecidedResult(
  raw: unknown,
  expected: { etag: string; models: readonly ModelRef[] },
  policy: ModerationPolicy,
): ResultDocument | undefined {
  const previous = (raw as { moderation?: { policy?: unknown } } | undefined)?.moderation?.policy;
  if (typeof previous !== 'string' || previous === policy.version) return undefined;
  // Reusable but for the policy: same schema version, ETag and model files.
  const doc = reusableResult(raw, { ...expected, policy: { ...policy, version: previous } });
  if (doc === undefined || !isStaleDecision(doc, policy)) return undefined;
  return redecide(doc, policy);
}

/** The tenant's endpoints and, when the job names one, its callbackUrl: each gets its own copy of an event. */
function targets(callbackUrl: string | undefined): ImageEventTarget[] {
  return callbackUrl === undefined ? [{}] : [{}, { callbackUrl }];
}

/** After a job completed (new, reused or re-decided): file it for review when due, emit its events. */
export async function afterCompleted(
  workflow: WorkerWorkflow | undefined,
  data: ClassifyJob,
  doc: ResultDocument,
  log: Logger,
): Promise<void> {
  if (workflow === undefined) return;
  if (doc.moderation !== undefined) await workflow.reviews.sync(data.tenant, doc);
  const events = targets(data.callbackUrl).flatMap((t) => completedImageEvents(data.tenant, doc, t));
  await workflow.webhooks.emit(...events);
  log.debug({ events: events.map((e) => e.type) }, 'workflow events queued');
}

/**
 * Whom a failed job's event goes to. A payload that failed validation (poison) still names its tenant when it
 * has a valid one, so its failure is told; its callbackUrl is not trusted then.
 */
function ownerOf(data: unknown): { tenant: string; callbackUrl?: string | undefined } | undefined {
  try {
    const p = parseJobPayload(data);
    return { tenant: p.tenant, callbackUrl: p.callbackUrl };
  } catch {
    const tenant = tenantIdSchema.safeParse((data as { tenant?: unknown } | null)?.tenant);
    return tenant.success ? { tenant: tenant.data } : undefined;
  }
}

/** After a job failed for good: emit `image.failed`. Best effort (the failure itself is already recorded). */
export async function afterFailed(
  workflow: WorkerWorkflow | undefined,
  job: { id?: string | undefined; timestamp: number; attemptsMade: number; data: unknown },
  err: LabelqError,
  log: Logger,
): Promise<void> {
  const owner = ownerOf(job.data);
  if (workflow === undefined || job.id === undefined || owner === undefined) return;
  const { id } = job;
  const error = { code: err.code, message: err.message };
  const parts = [id, String(job.timestamp), String(job.attemptsMade)];
  const events = targets(owner.callbackUrl).map((t) => failedImageEvent(owner.tenant, id, error, parts, t));
  await workflow.webhooks
    .emit(...events)
    .catch((e: unknown) => log.warn({ err: e }, 'could not queue image.failed'));
}

/**
 * The batch role's end-of-batch hook (@labelq/batch `onFinished`): sends `batch.completed` (data: the batch's id,
 * status `completed` or `failed`, counts and report) to the tenant's subscribed endpoints.
 */
export function batchFinishedHook(
  workflow: WorkerWorkflow,
): (batch: Batch, ctx: { logger: Logger }) => Promise<void> {
  return async (batch, { logger }) => {
    const event = webhookEvent(
      batch.tenant,
      'batch.completed',
      {
        id: batch.id,
        status: batch.status,
        counts: batch.counts,
        ...(batch.report !== undefined ? { report: batch.report } : {}),
        links: { self: `/v1/batches/${batch.id}` },
      },
      [batch.id, batch.status],
    );
    await workflow.webhooks
      .emit(event)
      .catch((err: unknown) => logger.warn({ err, batchId: batch.id }, 'could not queue batch.completed'));
  };
}
