import type { Config } from '@labelq/config';
import {
  encodeFailedReason,
  webhookEventSchema,
  type WebhookAttempt,
  type WebhookEvent,
  type WebhookEventType,
} from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';
import { UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from 'pino';
import {
  DELIVER_JOB,
  FANOUT_JOB,
  webhookQueueName,
  type DeliverJobData,
  type WebhookQueue,
} from './events.ts';
import { postJson } from './post.ts';
import { signWebhook } from './secrets.ts';
import { signingSecrets, type WebhookStore } from './store.ts';
import { callbacksAllowed, type CallbackSecretStore } from './callbacks.ts';
import { createDeliveryAgents, parseAllowedTargets, type DeliveryAgents } from './targets.ts';

export const WEBHOOK_BACKOFF = 'webhook-schedule';

/**
 * A delivery that ends without another attempt: the failed job's reason is coded (decodeFailedReason reads it),
 * so the dead-letter set says why as the attempt logs do.
 */
function endDelivery(code: string, message: string): UnrecoverableError {
  return new UnrecoverableError(encodeFailedReason({ code, message }));
}

/** The delay before retry number `attemptsMade` (1-based) per the schedule; the last entry repeats. */
export function retryDelay(schedule: readonly number[], attemptsMade: number): number {
  return schedule[Math.min(schedule.length, Math.max(1, attemptsMade)) - 1] ?? 0;
}

/** One delivery attempt as metrics see it: bounded values only (the event type, an outcome, durations). */
export interface DeliveryAttemptRecord {
  type: WebhookEventType;
  /**
   * `delivered` (2xx), `retrying` (failed, another attempt follows), `dead` (failed for good: the last attempt,
   * or the endpoint got disabled), `skipped` (not sent: the endpoint is disabled or gone).
   */
  outcome: 'delivered' | 'retrying' | 'dead' | 'skipped';
  /** The POST, connect to answer (absent when skipped), ms. */
  requestMs?: number;
  /** From the event to the end of this attempt, ms. */
  sinceEventMs: number;
}

export interface WebhookWorkerDeps {
  config: Config;
  connection: ConnectionOptions;
  queue: WebhookQueue;
  store: WebhookStore;
  logger: Logger;
  /**
   * A tenant's one-off `callbackUrl` deliveries: the secrets that sign them (its callback secret, and replaced
   * ones during their overlap; none when the tenant turned callbacks off) and its log of attempts. Without it
   * callbacks are not sent.
   */
  callbacks?: Pick<CallbackSecretStore, 'signing' | 'recordAttempt'>;
  /** Told about each delivery attempt (the worker's Prometheus metrics). Default: nobody. */
  onAttempt?: (attempt: DeliveryAttemptRecord) => void;
}

export interface WebhookWorker {
  worker: Worker;
  close(): Promise<void>;
}

/**
 * The webhooks worker: fans an event out to its tenant's subscribed endpoints (one delivery job each, id
 * `<event>-<endpoint>` so a repeated fan-out adds nothing), then delivers each at least once: signed per
 * Standard Webhooks, SSRF-checked at connect time, retried on the configured schedule, dead-lettered (kept as
 * a failed job and logged `dead`) after the last attempt. An endpoint that fails
 * WEBHOOK_DISABLE_AFTER_FAILURES times in a row is disabled; its waiting deliveries then end at once.
 */
export function createWebhookWorker(deps: WebhookWorkerDeps): WebhookWorker {
  const { config, store, queue, logger } = deps;
  const wf = config.workflow;
  const allowed = parseAllowedTargets(wf.webhookAllowedHosts);
  const agents: DeliveryAgents = createDeliveryAgents(allowed);
  const attempts = wf.webhookRetryScheduleMs.length + 1;

  async function fanOut(job: Job<WebhookEvent>): Promise<number> {
    const event = webhookEventSchema.parse(job.data);
    // An event naming a callbackUrl goes to that URL only (the tenant's endpoints get their own copy).
    const jobs: { name: string; data: DeliverJobData; opts: ReturnType<typeof deliverOptions> }[] =
      event.callbackUrl !== undefined
        ? [{ name: DELIVER_JOB, data: { event }, opts: deliverOptions(`${event.id}-callback`) }]
        : (await store.subscribed(event.tenant, event.type)).map((ep) => ({
            name: DELIVER_JOB,
            data: { event, endpointId: ep.id },
            opts: deliverOptions(`${event.id}-${ep.id}`),
          }));
    if (jobs.length > 0) await queue.addBulk(jobs);
    return jobs.length;
  }

  function deliverOptions(jobId: string) {
    return {
      jobId,
      attempts,
      backoff: { type: WEBHOOK_BACKOFF },
      removeOnComplete: { age: 86_400 },
      // The dead-letter state: failed deliveries stay in the queue's failed set (and the endpoint's log).
      removeOnFail: false,
    };
  }

  async function deliver(job: Job<DeliverJobData>): Promise<{ statusCode?: number; latencyMs: number }> {
    const { event, endpointId } = job.data;
    const attempt = job.attemptsMade + 1;
    const report = (outcome: DeliveryAttemptRecord['outcome'], requestMs?: number): void =>
      deps.onAttempt?.({
        type: event.type,
        outcome,
        ...(requestMs !== undefined ? { requestMs } : {}),
        sinceEventMs: Math.max(0, Date.now() - Date.parse(event.timestamp)),
      });
    const log = logger.child({
      eventId: event.id,
      type: event.type,
      tenant: event.tenant,
      endpointId,
      attempt,
    });
    let url: URL;
    let secrets: string[];
    // Where this delivery's attempts are logged: the endpoint's log, or the tenant's callback log.
    let record: (a: WebhookAttempt) => Promise<void>;
    const notSent = async (code: string, message: string): Promise<never> => {
      await record({
        eventId: event.id,
        type: event.type,
        attempt,
        at: new Date().toISOString(),
        status: 'dead',
        latencyMs: 0,
        error: { code, message },
      });
      report('skipped');
      throw endDelivery(code, message);
    };
    if (endpointId !== undefined) {
      const ep = await store.byId(endpointId);
      if (!ep || ep.tenant !== event.tenant) {
        report('skipped');
        throw endDelivery('webhook_endpoint_disabled', 'The endpoint was deleted; not sent');
      }
      record = (a) => store.recordAttempt(ep.id, a);
      if (ep.disabled) return notSent('webhook_endpoint_disabled', 'The endpoint is disabled; not sent');
      url = new URL(ep.url);
      secrets = signingSecrets(ep);
    } else {
      const callbacks = deps.callbacks;
      const callbackUrl = event.callbackUrl;
      if (callbackUrl === undefined || callbacks === undefined) {
        report('skipped');
        throw endDelivery('webhook_endpoint_disabled', 'No receiver; not sent');
      }
      record = (a) => callbacks.recordAttempt(event.tenant, { ...a, url: callbackUrl });
      // Checked again at every attempt: the operator may have taken the tenant off CALLBACK_URL_TENANTS since
      // the request was accepted, and callbacks are theirs to allow (the URL's address is checked at connect).
      if (!callbacksAllowed(wf.callbackUrlTenants, event.tenant)) {
        return notSent(
          'callback_not_allowed',
          `This installation no longer allows callbacks for ${event.tenant} (CALLBACK_URL_TENANTS); not sent`,
        );
      }
      url = new URL(callbackUrl);
      secrets = await callbacks.signing(event.tenant);
      if (secrets.length === 0) {
        return notSent('callback_not_enabled', 'The tenant turned callbacks off; not sent');
      }
    }
    const body = JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
    const headers = signWebhook(event.id, new Date(), body, secrets);
    const outcome = await postJson(
      url,
      body,
      { ...headers },
      { agent: agents.for(url), timeoutMs: wf.webhookTimeoutMs },
    );
    const at = new Date().toISOString();
    const final = attempt >= attempts;
    if (outcome.ok) {
      if (endpointId !== undefined) await store.recordSuccess(endpointId);
      await record({
        eventId: event.id,
        type: event.type,
        attempt,
        at,
        status: 'delivered',
        ...(outcome.statusCode !== undefined ? { statusCode: outcome.statusCode } : {}),
        latencyMs: outcome.latencyMs,
      });
      report('delivered', outcome.latencyMs);
      log.debug({ statusCode: outcome.statusCode, latencyMs: outcome.latencyMs }, 'webhook delivered');
      return { statusCode: outcome.statusCode, latencyMs: outcome.latencyMs };
    }
    const err = new LabelqError('webhook_delivery_failed', outcome.error ?? 'delivery failed', {
      details: { statusCode: outcome.statusCode ?? null },
    });
    const disabled =
      endpointId !== undefined && (await store.recordFailure(endpointId, wf.webhookDisableAfterFailures));
    const nextMs = retryDelay(wf.webhookRetryScheduleMs, attempt);
    await record({
      eventId: event.id,
      type: event.type,
      attempt,
      at,
      status: final || disabled ? 'dead' : 'retrying',
      ...(outcome.statusCode !== undefined ? { statusCode: outcome.statusCode } : {}),
      latencyMs: outcome.latencyMs,
      error: { code: err.code, message: err.message },
      ...(final || disabled ? {} : { nextAttemptAt: new Date(Date.now() + nextMs).toISOString() }),
    });
    report(final || disabled ? 'dead' : 'retrying', outcome.latencyMs);
    if (disabled)
      log.warn(
        { failures: wf.webhookDisableAfterFailures },
        'webhook endpoint disabled after a run of failures',
      );
    log[final ? 'warn' : 'info'](
      { error: err.message, final },
      final ? 'webhook dead-lettered' : 'webhook attempt failed',
    );
    if (disabled) throw endDelivery('webhook_endpoint_disabled', err.message);
    throw err;
  }

  const worker = new Worker<WebhookEvent | DeliverJobData>(
    webhookQueueName(config),
    async (job) => {
      if (job.name === FANOUT_JOB) return fanOut(job as Job<WebhookEvent>);
      if (job.name === DELIVER_JOB) return deliver(job as Job<DeliverJobData>);
      throw new UnrecoverableError(`unknown webhooks job ${job.name}`);
    },
    {
      connection: deps.connection,
      prefix: config.queue.prefix,
      concurrency: wf.webhookConcurrency,
      // A delivery ends within the timeout; the lock only has to outlive that.
      lockDuration: Math.max(30_000, wf.webhookTimeoutMs * 2),
      settings: {
        backoffStrategy: (attemptsMade: number, type?: string) =>
          type === WEBHOOK_BACKOFF ? retryDelay(wf.webhookRetryScheduleMs, attemptsMade) : 1000,
      },
    },
  );
  worker.on('error', (err) => logger.error({ err }, 'webhooks worker error'));
  return {
    worker,
    async close() {
      await worker.close();
      agents.destroy();
    },
  };
}
