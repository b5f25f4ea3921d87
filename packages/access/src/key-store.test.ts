// The key store against a real Redis (the tests' one, under a unique prefix).
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyStore } from './key-store.ts';
import { OpenJobs } from './open-jobs.ts';

const prefix = `labelq-test-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
let redis: Redis;
let store: KeyStore;

beforeAll(() => {
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  store = new KeyStore(redis, { prefix, lastUsedEveryMs: 0 });
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe('KeyStore', () => {
  it('creates a key shown once, verifies it, lists it without hash or key, and revokes it', async () => {
    const created = await store.create({ tenant: 'acme', scopes: ['submit', 'read'], buckets: ['photos'] });
    expect(created).toMatchObject({ tenant: 'acme', scopes: ['submit', 'read'], buckets: ['photos'] });
    const principal = await store.verify(created.key);
    expect(principal).toEqual({
      keyId: created.id,
      tenant: 'acme',
      scopes: ['submit', 'read'],
      buckets: ['photos'],
    });

    const listed = await store.list('acme');
    expect(listed.map((k) => k.id)).toEqual([created.id]);
    expect(listed[0]!.lastUsedAt).toEqual(expect.any(String));
    const stored = JSON.stringify(listed) + (await redis.get(`${prefix}:keys:${created.id}`));
    expect(stored).not.toContain(created.key);
    expect(JSON.stringify(listed)).not.toMatch(/"hash"/);

    await store.revoke(created.id, 'acme');
    expect(await store.verify(created.key)).toBeUndefined();
    expect((await store.list('acme'))[0]!.revokedAt).toEqual(expect.any(String));
  });

  it('refuses wrong, unknown, expired and tampered keys alike', async () => {
    const created = await store.create({ tenant: 'acme', scopes: ['read'], expiresIn: '1m' });
    const tampered = created.key.slice(0, -1) + (created.key.endsWith('A') ? 'B' : 'A');
    expect(await store.verify(tampered)).toBeUndefined();
    expect(await store.verify(`lq_live_${'0'.repeat(16)}_${'a'.repeat(43)}`)).toBeUndefined();
    expect(await store.verify('nonsense')).toBeUndefined();
    expect(await store.verify(created.key)).toBeDefined();
    expect(await store.verify(created.key, Date.now() + 61_000)).toBeUndefined();
  });

  it('revokes only within the tenant: another tenant’s key id is not found', async () => {
    const other = await store.create({ tenant: 'globex', scopes: ['admin'] });
    await expect(store.revoke(other.id, 'acme')).rejects.toMatchObject({ code: 'not_found' });
    expect(await store.verify(other.key)).toBeDefined();
    expect(await store.hasUsableKey()).toBe(true);
  });
});

describe('OpenJobs', () => {
  it('reserves all or nothing up to the cap, counts an id once, and releases', async () => {
    const open = new OpenJobs(redis, prefix);
    expect(await open.reserve('t1', ['a', 'b'], 3)).toBe(true);
    expect(await open.reserve('t1', ['b', 'c'], 3)).toBe(true);
    expect(await open.reserve('t1', ['d'], 3)).toBe(false);
    expect(await open.count('t1')).toBe(3);
    expect(await open.reserve('t2', ['d'], 3)).toBe(true);
    await open.release('t1', 'a');
    expect(await open.reserve('t1', ['d'], 3)).toBe(true);
  });
});
