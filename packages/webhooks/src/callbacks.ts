import { callbackAttemptSchema, type CallbackAttempt } from '@labelq/contracts';
import type { Redis } from 'ioredis';
import { livePreviousSecrets, rotateSecret, type PreviousSecret } from './rotation.ts';
import { newWebhookSecret } from './secrets.ts';
import { pushAttempt, readAttempts } from './store.ts';

/** A tenant's callback signing secrets (stored as they are: signing needs them). */
export interface CallbackSecrets {
  secret: string;
  createdAt: string;
  /** Replaced secrets that still sign (each rotation's overlap), latest expiry first. */
  previous: PreviousSecret[];
  /** ms since epoch; the last replaced secret signs until then (absent when none does). */
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
 * one for the overlap); deleting it turns callbacks off. Key: `<prefix>:wh:cb:<tenant>` (a hash). Beside it the
 * tenant's latest callback delivery attempts (`<prefix>:wh:cblog:<tenant>`, capped like an endpoint's), kept
 * when callbacks are turned off: they say why deliveries stopped.
 */
export class CallbackSecretStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = `${prefix}:wh`;
  }

  #key(tenant: string): string {
    return `${this.#prefix}:cb:${tenant}`;
  }
  #log(tenant: string): string {
    return `${this.#prefix}:cblog:${tenant}`;
  }

  async get(tenant: string): Promise<CallbackSecrets | undefined> {
    return fromHash(await this.#redis.hgetall(this.#key(tenant)));
  }

  /**
   * A new secret (callbacks on); the current one, and those it replaced that still sign, keep signing for
   * `overlapSeconds` (0 revokes them all). Atomic (one script): concurrent rotations each keep theirs, and one
   * racing a delete never brings back the deleted secret. Answers the state this rotation left, whatever
   * rotates next.
   */
  async create(tenant: string, overlapSeconds: number): Promise<CallbackSecrets> {
    const h = await rotateSecret(this.#redis, this.#key(tenant), {
      secret: newWebhookSecret(),
      createdAt: new Date().toISOString(),
      overlapSeconds,
    });
    return fromHash(h ?? {})!;
  }

  /** Callbacks off: deliveries still waiting fail without a request. True when there was a secret. */
  async remove(tenant: string): Promise<boolean> {
    return (await this.#redis.del(this.#key(tenant))) === 1;
  }

  async recordAttempt(tenant: string, attempt: CallbackAttempt): Promise<void> {
    await pushAttempt(this.#redis, this.#log(tenant), attempt);
  }

  /** The tenant's latest callback delivery attempts, newest first. */
  async attempts(tenant: string, limit = 100): Promise<CallbackAttempt[]> {
    return readAttempts(this.#redis, this.#log(tenant), limit, callbackAttemptSchema);
  }

  /** The secrets that sign now (none: callbacks are off). */
  async signing(tenant: string): Promise<string[]> {
    const s = await this.get(tenant);
    return s === undefined ? [] : [s.secret, ...s.previous.map((p) => p.secret)];
  }
}

function fromHash(h: Record<string, string>, now = Date.now()): CallbackSecrets | undefined {
  if (h.secret === undefined || h.createdAt === undefined) return undefined;
  const previous = livePreviousSecrets(h, now);
  return {
    secret: h.secret,
    createdAt: h.createdAt,
    previous,
    ...(previous.length > 0 ? { previousSecretExpiresMs: previous[0]!.expiresMs } : {}),
  };
}
