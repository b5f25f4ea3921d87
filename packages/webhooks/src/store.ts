import { randomBytes } from 'node:crypto';
import {
  webhookAttemptSchema,
  type WebhookAttempt,
  type WebhookEventType,
  type WebhookInfo,
} from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';
import type { Redis } from 'ioredis';
import { livePreviousSecrets, rotateSecret, type PreviousSecret } from './rotation.ts';
import { newWebhookSecret } from './secrets.ts';

/** Attempts kept per endpoint for `GET /v1/webhooks/:id/deliveries`. */
export const MAX_ATTEMPTS_KEPT = 500;

/** An endpoint with what delivery needs (secrets included): never answered to clients as such. */
export interface WebhookEndpoint extends WebhookInfo {
  tenant: string;
  secret: string;
  /** Replaced secrets that still sign (each rotation's overlap), latest expiry first. */
  previous: PreviousSecret[];
}

/**
 * Tenants' webhook endpoints in Redis: one hash per endpoint (`<prefix>:wh:ep:<id>`), a set of ids per tenant,
 * and a capped list of delivery attempts per endpoint. Secrets are stored as they are (signing needs them):
 * protect Redis like the API keys' pepper.
 */
export class WebhookStore {
  readonly #redis: Redis;
  readonly #p: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#p = `${prefix}:wh`;
  }

  #ids(tenant: string): string {
    return `${this.#p}:ids:${tenant}`;
  }
  #ep(id: string): string {
    return `${this.#p}:ep:${id}`;
  }
  #log(id: string): string {
    return `${this.#p}:log:${id}`;
  }

  async create(
    tenant: string,
    input: { url: string; events: readonly WebhookEventType[]; description?: string },
  ): Promise<WebhookEndpoint> {
    const id = `wh_${randomBytes(8).toString('hex')}`;
    const secret = newWebhookSecret();
    const createdAt = new Date().toISOString();
    await this.#redis
      .multi()
      .hset(this.#ep(id), {
        tenant,
        url: input.url,
        events: JSON.stringify([...new Set(input.events)]),
        ...(input.description !== undefined ? { description: input.description } : {}),
        createdAt,
        secret,
        disabled: '0',
        failures: '0',
      })
      .sadd(this.#ids(tenant), id)
      .exec();
    return (await this.get(tenant, id))!;
  }

  /** The tenant's endpoint, or undefined (another tenant's is undefined too: no existence oracle). */
  async get(tenant: string, id: string): Promise<WebhookEndpoint | undefined> {
    if (!/^wh_[0-9a-f]{16}$/.test(id)) return undefined;
    const h = await this.#redis.hgetall(this.#ep(id));
    if (h.tenant !== tenant) return undefined;
    return fromHash(id, h);
  }

  /** Like {@link get}, `webhook_not_found` when absent. */
  async require(tenant: string, id: string): Promise<WebhookEndpoint> {
    const ep = await this.get(tenant, id);
    if (!ep) throw new LabelqError('webhook_not_found', `No webhook endpoint "${id}"`);
    return ep;
  }

  /** The endpoint by id alone (delivery jobs carry their tenant and check it). */
  async byId(id: string): Promise<WebhookEndpoint | undefined> {
    const h = await this.#redis.hgetall(this.#ep(id));
    return h.tenant === undefined ? undefined : fromHash(id, h);
  }

  async list(tenant: string): Promise<WebhookEndpoint[]> {
    const ids = (await this.#redis.smembers(this.#ids(tenant))).sort();
    const pipe = this.#redis.pipeline();
    for (const id of ids) pipe.hgetall(this.#ep(id));
    const rows = (await pipe.exec()) ?? [];
    const out: WebhookEndpoint[] = [];
    ids.forEach((id, i) => {
      const h = rows[i]?.[1] as Record<string, string> | undefined;
      if (h?.tenant === tenant) out.push(fromHash(id, h));
    });
    return out.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  }

  /** True when the tenant has at least one endpoint (enabled or not). */
  async hasEndpoints(tenant: string): Promise<boolean> {
    return (await this.#redis.scard(this.#ids(tenant))) > 0;
  }

  /** The tenant's enabled endpoints subscribed to `type`. */
  async subscribed(tenant: string, type: WebhookEventType): Promise<WebhookEndpoint[]> {
    return (await this.list(tenant)).filter((e) => !e.disabled && e.events.includes(type));
  }

  async remove(tenant: string, id: string): Promise<WebhookEndpoint> {
    const ep = await this.require(tenant, id);
    await this.#redis.multi().del(this.#ep(id), this.#log(id)).srem(this.#ids(tenant), id).exec();
    return ep;
  }

  /**
   * A new secret; the current one, and those it replaced that still sign, keep signing for `overlapSeconds` (0
   * revokes them all). One script (see rotateSecret): concurrent rotations each keep theirs, the answer is the
   * state this rotation left, and a rotation racing a delete finds the endpoint gone (`webhook_not_found`)
   * instead of writing a stray hash.
   */
  async rotate(tenant: string, id: string, overlapSeconds: number): Promise<WebhookEndpoint> {
    const h = /^wh_[0-9a-f]{16}$/.test(id)
      ? await rotateSecret(this.#redis, this.#ep(id), {
          secret: newWebhookSecret(),
          overlapSeconds,
          owner: tenant,
        })
      : undefined;
    if (h === undefined) throw new LabelqError('webhook_not_found', `No webhook endpoint "${id}"`);
    return fromHash(id, h);
  }

  /** Re-enables an endpoint (and forgets its failure run). */
  async enable(tenant: string, id: string): Promise<WebhookEndpoint> {
    await this.require(tenant, id);
    await this.#redis.hset(this.#ep(id), { disabled: '0', failures: '0' });
    await this.#redis.hdel(this.#ep(id), 'disabledAt');
    return this.require(tenant, id);
  }

  /** A 2xx: the failure run is over. */
  async recordSuccess(id: string): Promise<void> {
    await this.#redis.hset(this.#ep(id), 'failures', '0');
  }

  /**
   * A failed attempt: counts it and disables the endpoint once `disableAfter` failed in a row. Resolves true
   * when this failure disabled it. A deleted endpoint is left deleted.
   */
  async recordFailure(id: string, disableAfter: number): Promise<boolean> {
    const key = this.#ep(id);
    // One script: count, compare and disable atomically (several workers fail on one endpoint at once).
    const disabledNow = (await this.#redis.eval(
      `if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
       local n = redis.call('HINCRBY', KEYS[1], 'failures', 1)
       if n >= tonumber(ARGV[1]) and redis.call('HGET', KEYS[1], 'disabled') ~= '1' then
         redis.call('HSET', KEYS[1], 'disabled', '1', 'disabledAt', ARGV[2])
         return 1
       end
       return 0`,
      1,
      key,
      String(disableAfter),
      new Date().toISOString(),
    )) as number;
    return disabledNow === 1;
  }

  async recordAttempt(id: string, attempt: WebhookAttempt): Promise<void> {
    await pushAttempt(this.#redis, this.#log(id), attempt);
  }

  /** The endpoint's latest attempts, newest first. */
  async attempts(tenant: string, id: string, limit = 100): Promise<WebhookAttempt[]> {
    await this.require(tenant, id);
    return readAttempts(this.#redis, this.#log(id), limit, webhookAttemptSchema);
  }
}

/** Adds an attempt to a log (newest first), keeping the latest {@link MAX_ATTEMPTS_KEPT}. */
export async function pushAttempt(redis: Redis, key: string, attempt: WebhookAttempt): Promise<void> {
  await redis
    .multi()
    .lpush(key, JSON.stringify(attempt))
    .ltrim(key, 0, MAX_ATTEMPTS_KEPT - 1)
    .exec();
}

/** A log's latest `limit` attempts, newest first; an entry the schema does not accept is skipped. */
export async function readAttempts<T>(
  redis: Redis,
  key: string,
  limit: number,
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
): Promise<T[]> {
  const rows = await redis.lrange(key, 0, Math.max(0, limit - 1));
  return rows.flatMap((r) => {
    const parsed = schema.safeParse(JSON.parse(r));
    return parsed.success ? [parsed.data] : [];
  });
}

function fromHash(id: string, h: Record<string, string>, now = Date.now()): WebhookEndpoint {
  const previous = livePreviousSecrets(h, now);
  return {
    id,
    tenant: h.tenant!,
    url: h.url!,
    events: JSON.parse(h.events ?? '[]') as WebhookEventType[],
    ...(h.description !== undefined ? { description: h.description } : {}),
    createdAt: h.createdAt!,
    disabled: h.disabled === '1',
    ...(h.disabledAt !== undefined ? { disabledAt: h.disabledAt } : {}),
    consecutiveFailures: Number(h.failures ?? 0),
    secret: h.secret!,
    previous,
    ...(previous.length > 0
      ? { previousSecretExpiresAt: new Date(previous[0]!.expiresMs).toISOString() }
      : {}),
  };
}

/** What clients see of an endpoint (no secrets). */
export function publicInfo(ep: WebhookEndpoint): WebhookInfo {
  const { tenant: _t, secret: _s, previous: _p, ...info } = ep;
  return info;
}

/** The secrets that sign now: the current one, and replaced ones during their rotation's overlap. */
export function signingSecrets(ep: WebhookEndpoint, now = Date.now()): string[] {
  return [ep.secret, ...ep.previous.filter((p) => p.expiresMs > now).map((p) => p.secret)];
}
