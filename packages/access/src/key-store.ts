import {
  apiKeyRecordSchema,
  durationMs,
  type ApiKeyInfo,
  type ApiKeyRecord,
  type CreatedApiKey,
  type Scope,
} from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';
import type { Redis } from 'ioredis';
import { generateKey, parseKey, secretMatches } from './key-format.ts';

/** What a verified key grants a request. */
export interface Principal {
  keyId: string;
  tenant: string;
  scopes: readonly Scope[];
  /** Buckets this key may submit from (within S3_ALLOWED_BUCKETS); undefined: all of those. */
  buckets: readonly string[] | undefined;
}

export interface CreateKeyOptions {
  tenant: string;
  scopes: readonly Scope[];
  buckets?: readonly string[] | undefined;
  name?: string | undefined;
  /** `90d`, `12h`, `30m`; default: never expires. */
  expiresIn?: string | undefined;
}

export interface KeyStoreOptions {
  /** Redis key prefix, e.g. `labelq`. Keys live under `<prefix>:keys:`. */
  prefix: string;
  /** lastUsedAt is written at most this often per key, ms (a write per request would cost more than the check). Default 60000. */
  lastUsedEveryMs?: number;
}

/**
 * API keys in Redis, shared by every API replica and the CLI. `<prefix>:keys:<id>` holds the record (JSON,
 * `apiKeyRecordSchema`), `<prefix>:keys:<id>:used` the last-used time, `<prefix>:tenant-keys:<tenant>` the
 * tenant's key ids. Verification reads Redis on every request (one GET, no cache), so a revocation takes effect
 * on every replica at once.
 */
export class KeyStore {
  private readonly prefix: string;
  private readonly lastUsedEveryMs: number;
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    options: KeyStoreOptions,
  ) {
    this.prefix = options.prefix;
    this.lastUsedEveryMs = options.lastUsedEveryMs ?? 60_000;
  }

  private recordKey(id: string): string {
    return `${this.prefix}:keys:${id}`;
  }

  private tenantKey(tenant: string): string {
    return `${this.prefix}:tenant-keys:${tenant}`;
  }

  async create(options: CreateKeyOptions, now = new Date()): Promise<CreatedApiKey> {
    const { id, key, hash } = generateKey();
    const record: ApiKeyRecord = apiKeyRecordSchema.parse({
      v: 1,
      id,
      tenant: options.tenant,
      scopes: [...new Set(options.scopes)],
      ...(options.buckets !== undefined ? { buckets: [...options.buckets] } : {}),
      ...(options.name !== undefined ? { name: options.name } : {}),
      createdAt: now.toISOString(),
      ...(options.expiresIn !== undefined
        ? { expiresAt: new Date(now.getTime() + durationMs(options.expiresIn)).toISOString() }
        : {}),
      hash,
    });
    await this.redis
      .multi()
      .set(this.recordKey(id), JSON.stringify(record))
      .sadd(this.tenantKey(record.tenant), id)
      .exec();
    return { ...info(record), key };
  }

  /**
   * The principal of a presented key, or undefined for a malformed, unknown, revoked, expired or wrong key
   * (all answered alike: 401, no oracle). Records its use, at most once a minute per key.
   */
  async verify(presented: string, now = Date.now()): Promise<Principal | undefined> {
    const parsed = parseKey(presented);
    if (!parsed) return undefined;
    const record = await this.read(parsed.id);
    if (!record || record.revokedAt !== undefined) return undefined;
    if (record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now) return undefined;
    if (!secretMatches(record.id, parsed.secret, record.hash)) return undefined;
    this.touch(record.id, now);
    return { keyId: record.id, tenant: record.tenant, scopes: record.scopes, buckets: record.buckets };
  }

  /** Keys of a tenant (all tenants when undefined), revoked ones included, oldest first. */
  async list(tenant?: string): Promise<ApiKeyInfo[]> {
    const ids =
      tenant !== undefined ? await this.redis.smembers(this.tenantKey(tenant)) : await this.allIds();
    if (ids.length === 0) return [];
    const [records, used] = await Promise.all([
      this.redis.mget(ids.map((id) => this.recordKey(id))),
      this.redis.mget(ids.map((id) => `${this.recordKey(id)}:used`)),
    ]);
    const out: ApiKeyInfo[] = [];
    records.forEach((raw, i) => {
      const record = raw === null ? undefined : parseRecord(raw);
      if (!record) return;
      const lastUsedAt = used[i];
      out.push({ ...info(record), ...(lastUsedAt ? { lastUsedAt } : {}) });
    });
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  /**
   * Revokes key `id` (of `tenant`, when given: another tenant's key answers not_found, as a missing one does).
   * Idempotent. Returns the revoked key.
   */
  async revoke(id: string, tenant?: string, now = new Date()): Promise<ApiKeyInfo> {
    const record = await this.read(id);
    if (!record || (tenant !== undefined && record.tenant !== tenant)) {
      throw new LabelqError('not_found', `No API key with id "${id}"`);
    }
    if (record.revokedAt !== undefined) return info(record);
    const revoked: ApiKeyRecord = { ...record, revokedAt: now.toISOString() };
    await this.redis.set(this.recordKey(id), JSON.stringify(revoked));
    return info(revoked);
  }

  /** True when at least one usable (not revoked, not expired) key exists: a production start needs one. */
  async hasUsableKey(now = Date.now()): Promise<boolean> {
    const ids = await this.allIds();
    for (let i = 0; i < ids.length; i += 100) {
      const raws = await this.redis.mget(ids.slice(i, i + 100).map((id) => this.recordKey(id)));
      for (const raw of raws) {
        const r = raw === null ? undefined : parseRecord(raw);
        if (r && r.revokedAt === undefined && (r.expiresAt === undefined || Date.parse(r.expiresAt) > now)) {
          return true;
        }
      }
    }
    return false;
  }

  private async read(id: string): Promise<ApiKeyRecord | undefined> {
    const raw = await this.redis.get(this.recordKey(id));
    return raw === null ? undefined : parseRecord(raw);
  }

  private async allIds(): Promise<string[]> {
    const ids: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:keys:key_*`, 'COUNT', 500);
      cursor = next;
      for (const k of keys) if (!k.endsWith(':used')) ids.push(k.slice(`${this.prefix}:keys:`.length));
    } while (cursor !== '0');
    return ids;
  }

  private touch(id: string, now: number): void {
    const last = this.lastUsedWritten.get(id);
    if (last !== undefined && now - last < this.lastUsedEveryMs) return;
    this.lastUsedWritten.set(id, now);
    // Best effort: a failed write only leaves lastUsedAt older; it never fails the request.
    this.redis.set(`${this.recordKey(id)}:used`, new Date(now).toISOString()).catch(() => undefined);
  }
}

function parseRecord(raw: string): ApiKeyRecord | undefined {
  try {
    const parsed = apiKeyRecordSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function info(record: ApiKeyRecord): ApiKeyInfo {
  const { hash: _hash, v: _v, ...rest } = record;
  return rest;
}
