import type { Redis } from 'ioredis';
import { newWebhookSecret } from './secrets.ts';

/** A tenant's callback signing secrets (stored as they are: signing needs them). */
export interface CallbackSecrets {
  secret: string;
  createdAt: string;
  previousSecret?: string;
  /** ms since epoch; the previous secret signs until then. */
  previousSecretExpiresMs?: number;
}

/**
 * True when the installation lets `tenant` name a per-request `callbackUrl` (`CALLBACK_URL_TENANTS`: tenant ids,
 * or `*` for all). Callbacks let a client make the service send requests to URLs of its choosing, so this is
 * the operator's decision; the tenant then turns them on by creating its callback secret.
 */
export function callbacksAllowed(allowedTenants: readonly string[], tenant: string): boolean {
  return allowedTenants.includes('*') || allowedTenants.includes(tenant);
}

/**
 * Per-tenant secrets that sign one-off `callbackUrl` deliveries (Standard Webhooks, like endpoints). Creating
 * one turns callbacks on for the tenant; creating another rotates it (the old one keeps signing beside the new
 * one for the overlap); deleting it turns callbacks off. Key: `<prefix>:wh:cb:<tenant>` (a hash).
 */
export class CallbackSecretStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = `${prefix}:wh:cb`;
  }

  #key(tenant: string): string {
    return `${this.#prefix}:${tenant}`;
  }

  async get(tenant: string): Promise<CallbackSecrets | undefined> {
    const h = await this.#redis.hgetall(this.#key(tenant));
    if (h.secret === undefined || h.createdAt === undefined) return undefined;
    const until = h.previousSecretExpiresMs !== undefined ? Number(h.previousSecretExpiresMs) : undefined;
    return {
      secret: h.secret,
      createdAt: h.createdAt,
      ...(h.previousSecret !== undefined && until !== undefined && until > Date.now()
        ? { previousSecret: h.previousSecret, previousSecretExpiresMs: until }
        : {}),
    };
  }

  /** A new secret (callbacks on); a current one keeps signing as the previous for `overlapSeconds`. */
  async create(tenant: string, overlapSeconds: number): Promise<CallbackSecrets> {
    const current = await this.get(tenant);
    const secret = newWebhookSecret();
    const key = this.#key(tenant);
    const m = this.#redis.multi().del(key).hset(key, { secret, createdAt: new Date().toISOString() });
    if (current !== undefined && overlapSeconds > 0) {
      m.hset(key, {
        previousSecret: current.secret,
        previousSecretExpiresMs: String(Date.now() + overlapSeconds * 1000),
      });
    }
    await m.exec();
    return (await this.get(tenant))!;
  }

  /** Callbacks off: deliveries still waiting fail without a request. True when there was a secret. */
  async remove(tenant: string): Promise<boolean> {
    return (await this.#redis.del(this.#key(tenant))) === 1;
  }

  /** The secrets that sign now (none: callbacks are off). */
  async signing(tenant: string): Promise<string[]> {
    const s = await this.get(tenant);
    if (s === undefined) return [];
    return s.previousSecret !== undefined ? [s.secret, s.previousSecret] : [s.secret];
  }
}
