import { LabelqError } from '@labelq/errors';
import { callbacksAllowed, checkWebhookUrl, completedImageEvents } from '@labelq/webhooks';
import type { ApiDeps } from '../deps.ts';
import { readImageStatus, readJobSnapshot } from '../status.ts';

/**
 * Checks a request's `callbackUrl` for `tenant` and answers it normalised: 403 `callback_not_allowed` when the
 * installation does not allow the tenant callbacks, 403 `callback_not_enabled` when the tenant has no callback
 * secret, then the webhook URL rules (400 `webhook_url_invalid` / `webhook_url_forbidden`).
 */
export async function checkCallbackUrl(deps: ApiDeps, tenant: string, raw: string): Promise<string> {
  const wf = deps.workflow;
  if (wf === undefined || !callbacksAllowed(deps.config.workflow.callbackUrlTenants, tenant)) {
    throw new LabelqError(
      'callback_not_allowed',
      `This installation does not allow callbackUrl for ${tenant}`,
    );
  }
  if ((await wf.callbacks.get(tenant)) === undefined) throw new LabelqError('callback_not_enabled');
  return (await checkWebhookUrl(raw, wf.allowedTargets)).toString();
}

/**
 * A callbackUrl on a submission of an image that already completed (a duplicate): its events are sent now from
 * the stored result, to that URL only. (A failed image is queued again, so its callback goes with the new job.)
 */
export async function sendCompletedCallback(
  deps: ApiDeps,
  tenant: string,
  id: string,
  callbackUrl: string,
): Promise<void> {
  const wf = deps.workflow;
  if (wf === undefined) return;
  const body = await readImageStatus(id, tenant, await readJobSnapshot(deps.queue, id), deps.storage);
  if (body?.status !== 'completed' || body.result === undefined) return;
  await wf.webhookEvents.emit(...completedImageEvents(tenant, body.result, { callbackUrl }));
}
