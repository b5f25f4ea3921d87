import type { ResultDocument, WebhookEvent } from '@labelq/contracts';
import { webhookEvent } from './events.ts';

/** `data` of image events: the `GET /v1/images/:id` body of a completed image. */
export function completedImageData(doc: ResultDocument): Record<string, unknown> {
  return { id: doc.id, status: 'completed', links: { self: `/v1/images/${doc.id}` }, result: doc };
}

/** Where an event goes: the tenant's subscribed endpoints, or (with `callbackUrl`) that one URL only. */
export interface ImageEventTarget {
  callbackUrl?: string | undefined;
}

/**
 * An event's id parts for a target: a callback's events get ids of their own (the URL is part of them), so the
 * copy for a request's callbackUrl and the copy for the tenant's endpoints are two events, each deduplicated on
 * its own.
 */
function partsFor(parts: readonly string[], target: ImageEventTarget): readonly string[] {
  return target.callbackUrl === undefined ? parts : [...parts, 'callback', target.callbackUrl];
}

/** `image.completed`, plus `image.review_required` when the model decided `review` and no person has yet. */
export function completedImageEvents(
  tenant: string,
  doc: ResultDocument,
  target: ImageEventTarget = {},
): WebhookEvent[] {
  const idParts = partsFor([doc.id, doc.timings.finishedAt, doc.moderation?.policy ?? ''], target);
  const extra = {
    timestamp: doc.timings.finishedAt,
    ...(target.callbackUrl !== undefined ? { callbackUrl: target.callbackUrl } : {}),
  };
  const data = completedImageData(doc);
  const events = [webhookEvent(tenant, 'image.completed', data, idParts, extra)];
  if (doc.moderation?.decision === 'review' && doc.review === undefined) {
    events.push(webhookEvent(tenant, 'image.review_required', data, idParts, extra));
  }
  return events;
}

/** `image.failed`; `idParts` name the failure (the job's id, submit time and attempts). */
export function failedImageEvent(
  tenant: string,
  id: string,
  error: { code: string; message: string },
  idParts: readonly string[],
  target: ImageEventTarget = {},
): WebhookEvent {
  return webhookEvent(
    tenant,
    'image.failed',
    { id, status: 'failed', error, links: { self: `/v1/images/${id}` } },
    partsFor(idParts, target),
    {
      timestamp: new Date().toISOString(),
      ...(target.callbackUrl !== undefined ? { callbackUrl: target.callbackUrl } : {}),
    },
  );
}
