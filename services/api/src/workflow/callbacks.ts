import { MAX_CALLBACK_URL_LENGTH } from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';
import {
  callbacksAllowed,
  checkWebhookUrl,
  completedImageEvents,
  type AllowedTargets,
} from '@labelq/webhooks';
import type { ApiDeps } from '../deps.ts';
import { readImageStatus, readJobSnapshot } from '../status.ts';
import { withDeadline } from '../timeout.ts';

/**
 * Checks a request's `callbackUrl`s for `tenant` and answers them normalised, in order (undefined stays
 * undefined): 403 `callback_not_allowed` when the installation does not allow the tenant callbacks, 403
 * `callback_not_enabled` when the tenant has no callback secret, then the webhook URL rules (400
 * `webhook_url_invalid` / `webhook_url_forbidden`), including a normalised form longer than
 * {@link MAX_CALLBACK_URL_LENGTH}. The tenant's state is read once and each distinct URL checked once (a bulk
 * request may name the same one 1000 times); the Redis read answers 503 `queue_unavailable` when Redis fails or
 * does not answer within `timeoutMs`, and the URL checks (DNS) 504 `timeout` after `timeoutMs`.
 * `onItemError` may rename an item's error (a bulk request names the offending index).
 */
export async function checkCallbackUrls(
  deps: ApiDeps,
  tenant: string,
  raws: readonly (string | undefined)[],
  timeoutMs: number,
  onItemError: (err: unknown, index: number) => unknown = (err) => err,
): Promise<(string | undefined)[]> {
  if (raws.every((raw) => raw === undefined)) return raws.map(() => undefined);
  const wf = deps.workflow;
  if (wf === undefined || !callbacksAllowed(deps.config.workflow.callbackUrlTenants, tenant)) {
    throw new LabelqError(
      'callback_not_allowed',
      `This installation does not allow callbackUrl for ${tenant}`,
    );
  }
  const secrets = await withDeadline(() => wf.callbacks.get(tenant), timeoutMs, 'queue_unavailable', 'Redis');
  if (secrets === undefined) throw new LabelqError('callback_not_enabled');
  const checks = new Map<string, Promise<string>>();
  const check = (raw: string): Promise<string> => {
    let p = checks.get(raw);
    if (p === undefined) {
      p = normalisedCallbackUrl(raw, wf.allowedTargets);
      checks.set(raw, p);
    }
    return p;
  };
  return withDeadline(
    () =>
      Promise.all(
        raws.map(async (raw, index) => {
          if (raw === undefined) return undefined;
          try {
            return await check(raw);
          } catch (err) {
            throw onItemError(err, index);
          }
        }),
      ),
    timeoutMs,
    'timeout',
    'The callbackUrl check',
  );
}

/** The webhook URL rules, and the stored (normalised) form's length, which the job payload schema caps. */
async function normalisedCallbackUrl(raw: string, allowed: AllowedTargets): Promise<string> {
  const url = (await checkWebhookUrl(raw, allowed)).toString();
  if (url.length > MAX_CALLBACK_URL_LENGTH) {
    throw new LabelqError(
      'webhook_url_invalid',
      `The callbackUrl is ${url.length} characters once normalised (percent-encoded, punycode); at most ` +
        `${MAX_CALLBACK_URL_LENGTH} are allowed`,
      { details: { length: url.length, maxLength: MAX_CALLBACK_URL_LENGTH } },
    );
  }
  return url;
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
