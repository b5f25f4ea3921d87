import { createHash } from 'node:crypto';
import type { Config } from '@labelq/config';
import { webhookEventSchema, type WebhookEvent, type WebhookEventType } from '@labelq/contracts';
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { WebhookStore } from './store.ts';

/** BullMQ job names on the webhooks queue. */
export const FANOUT_JOB = 'event';
export const DELIVER_JOB = 'deliver';

/** The webhooks queue: fan-out of events to endpoints, and one delivery job per event and endpoint. */
export function webhookQueueName(config: Pick<Config, 'queue'>): string {
  return `${config.queue.name}-webhooks`;
}

/** What a delivery job carries. */
export interface DeliverJobData {
  event: WebhookEvent;
  /** A tenant's endpoint; absent for a one-off `callbackUrl`. */
  endpointId?: string;
}

export type WebhookQueue = Queue<WebhookEvent | DeliverJobData>;

export function createWebhookQueue(
  config: Pick<Config, 'queue'>,
  connection: ConnectionOptions,
): WebhookQueue {
  return new Queue(webhookQueueName(config), { connection, prefix: config.queue.prefix });
}

/**
 * A deterministic event id: the same event (a job re-run after its worker died, a retried review write) gets
 * the same id, so BullMQ's job-id dedup keeps it to one fan-out and receivers can dedup on `webhook-id`.
 */
export function webhookEventId(tenant: string, type: WebhookEventType, ...parts: readonly string[]): string {
  const h = createHash('sha256')
    .update([tenant, type, ...parts].join('\n'))
    .digest('hex');
  return `evt_${h.slice(0, 32)}`;
}

/** Builds and validates an event. */
export function webhookEvent(
  tenant: string,
  type: WebhookEventType,
  data: Record<string, unknown>,
  idParts: readonly string[],
  extra: { timestamp?: string; callbackUrl?: string } = {},
): WebhookEvent {
  return webhookEventSchema.parse({
    v: 1,
    id: webhookEventId(tenant, type, ...idParts),
    tenant,
    type,
    timestamp: extra.timestamp ?? new Date().toISOString(),
    data,
    ...(extra.callbackUrl !== undefined ? { callbackUrl: extra.callbackUrl } : {}),
  });
}

/** Fan-out jobs: cheap and retried quickly; kept a day so a re-emitted event id is ignored (dedup). */
const FANOUT_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 86_400 },
  removeOnFail: { age: 7 * 86_400 },
};

/**
 * Queues one event for fan-out (one Redis round trip; no HTTP). Every caller that emits events uses this:
 * the classify worker, the review route, and batches (`batch.completed`, #9) when a batch finishes.
 */
export async function enqueueWebhookEvent(queue: WebhookQueue, event: WebhookEvent): Promise<void> {
  await queue.add(FANOUT_JOB, event, { ...FANOUT_OPTIONS, jobId: event.id });
}

/**
 * The producer side most callers want: skips tenants without endpoints (cached per tenant for `cacheMs`,
 * so bulk tagging without webhooks costs no extra Redis work per image), always queues an event that names
 * a `callbackUrl` (which is delivered to that URL only).
 */
export class WebhookEvents {
  readonly #queue: WebhookQueue;
  readonly #store: WebhookStore;
  readonly #cacheMs: number;
  readonly #known = new Map<string, { has: boolean; at: number }>();

  constructor(queue: WebhookQueue, store: WebhookStore, cacheMs: number) {
    this.#queue = queue;
    this.#store = store;
    this.#cacheMs = cacheMs;
  }

  async #hasEndpoints(tenant: string): Promise<boolean> {
    const now = Date.now();
    const cached = this.#known.get(tenant);
    if (cached && now - cached.at < this.#cacheMs) return cached.has;
    const has = await this.#store.hasEndpoints(tenant);
    this.#known.set(tenant, { has, at: now });
    return has;
  }

  /** Queues the events that have a receiver; resolves once they are in Redis. */
  async emit(...events: readonly WebhookEvent[]): Promise<void> {
    for (const event of events) {
      if (event.callbackUrl === undefined && !(await this.#hasEndpoints(event.tenant))) continue;
      await enqueueWebhookEvent(this.#queue, event);
    }
  }
}
