import { LabelqError } from '@labelq/errors';
import type { Redis } from 'ioredis';
import {
  DEFAULT_POLICY,
  mergePolicy,
  policyFileSchema,
  type ModerationPolicy,
  type PolicyFile,
} from './policy.ts';

/** A tenant's stored policy: the file it PUT and its monotonic revision. */
export interface StoredTenantPolicy {
  revision: number;
  file: PolicyFile;
  updatedAt: string;
  updatedBy: string;
}

/**
 * The version string results record for a tenant policy: the tenant's label and its revision
 * (`strict@3`), so two PUTs with the same label are still told apart.
 */
export function tenantPolicyVersion(file: PolicyFile, revision: number): string {
  return `${file.version}@${revision}`;
}

/** The effective policy of a stored tenant policy: its file merged over the defaults, versioned by revision. */
export function effectiveTenantPolicy(stored: StoredTenantPolicy): ModerationPolicy {
  return {
    ...mergePolicy(stored.file, DEFAULT_POLICY),
    version: tenantPolicyVersion(stored.file, stored.revision),
  };
}

/** Validates a policy PUT with the MODERATION_POLICY_FILE schema; problems are `invalid_request`. */
export function parsePolicyFile(raw: unknown): PolicyFile {
  const parsed = policyFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new LabelqError('invalid_request', `Invalid policy: ${problems}`, { details: { problems } });
  }
  return parsed.data;
}

/**
 * Tenants' policies in Redis (`<prefix>:policy:<tenant>`, a hash): each PUT or DELETE increments the tenant's
 * revision atomically (a Lua script), so versions never repeat or go back, even with several API replicas.
 */
export class TenantPolicyStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  #key(tenant: string): string {
    return `${this.#prefix}:policy:${tenant}`;
  }

  async get(tenant: string): Promise<StoredTenantPolicy | undefined> {
    const h = await this.#redis.hgetall(this.#key(tenant));
    if (h.file === undefined) return undefined;
    return {
      revision: Number(h.revision),
      file: policyFileSchema.parse(JSON.parse(h.file)),
      updatedAt: h.updatedAt!,
      updatedBy: h.updatedBy!,
    };
  }

  /** The tenant's revision counter (0 when it never set one). */
  async revision(tenant: string): Promise<number> {
    return Number((await this.#redis.hget(this.#key(tenant), 'revision')) ?? 0);
  }

  /** Stores a new policy under the next revision. */
  async put(tenant: string, file: PolicyFile, by: string): Promise<StoredTenantPolicy> {
    const updatedAt = new Date().toISOString();
    const revision = (await this.#redis.eval(
      `local r = redis.call('HINCRBY', KEYS[1], 'revision', 1)
       redis.call('HSET', KEYS[1], 'file', ARGV[1], 'updatedAt', ARGV[2], 'updatedBy', ARGV[3])
       return r`,
      1,
      this.#key(tenant),
      JSON.stringify(file),
      updatedAt,
      by,
    )) as number;
    return { revision, file, updatedAt, updatedBy: by };
  }

  /** Drops the tenant's policy (the installation's applies again); the revision counter stays and moves on. */
  async clear(tenant: string, by: string): Promise<number> {
    return (await this.#redis.eval(
      `local r = redis.call('HINCRBY', KEYS[1], 'revision', 1)
       redis.call('HDEL', KEYS[1], 'file')
       redis.call('HSET', KEYS[1], 'updatedAt', ARGV[1], 'updatedBy', ARGV[2])
       return r`,
      1,
      this.#key(tenant),
      new Date().toISOString(),
      by,
    )) as number;
  }
}

/**
 * What a worker uses: the tenant's policy, or `fallback` (MODERATION_POLICY_FILE or the defaults) when it has
 * none, cached per tenant for `cacheMs` so a job costs no Redis round trip for it most of the time. A change
 * reaches workers within `cacheMs`; the version recorded in each result says which policy decided it.
 */
export class TenantPolicies {
  readonly #store: TenantPolicyStore;
  readonly #fallback: ModerationPolicy;
  readonly #cacheMs: number;
  readonly #cache = new Map<string, { policy: ModerationPolicy; at: number }>();

  constructor(store: TenantPolicyStore, fallback: ModerationPolicy, cacheMs: number) {
    this.#store = store;
    this.#fallback = fallback;
    this.#cacheMs = cacheMs;
  }

  get fallback(): ModerationPolicy {
    return this.#fallback;
  }

  async forTenant(tenant: string): Promise<ModerationPolicy> {
    const now = Date.now();
    const hit = this.#cache.get(tenant);
    if (hit && now - hit.at < this.#cacheMs) return hit.policy;
    const stored = await this.#store.get(tenant);
    const policy = stored ? effectiveTenantPolicy(stored) : this.#fallback;
    this.#cache.set(tenant, { policy, at: now });
    return policy;
  }
}
