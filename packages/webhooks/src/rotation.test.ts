// Secret rotation against a real Redis (the tests' one, under a unique prefix). The races are made deterministic:
// one store's Redis connection is wrapped so that, after its k-th reply, the other operation runs to the end
// before the first goes on; every k a rotation has is tried, so no interleaving of client steps is left out.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallbackSecretStore } from './callbacks.ts';
import { livePreviousSecrets, MAX_PREVIOUS_SECRETS } from './rotation.ts';
import { signingSecrets, WebhookStore } from './store.ts';

const prefix = `labelq-test-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
let redis: Redis;
let callbacks: CallbackSecretStore;
let webhooks: WebhookStore;
let tenants = 0;
const newTenant = (): string => `t${++tenants}`;

beforeAll(() => {
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  callbacks = new CallbackSecretStore(redis, prefix);
  webhooks = new WebhookStore(redis, prefix);
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

/**
 * `redis` that stops at its `at`-th point until `between` has run to the end. Each command has two points:
 * before it is sent (`at` even) and after its reply (odd). `points()` counts the points passed, so a test can
 * try every one.
 */
function interleaved(at: number, between: () => Promise<void>): { redis: Redis; points: () => number } {
  let n = 0;
  const stop = async (): Promise<void> => {
    if (n++ === at) await between();
  };
  const wrapped = new Proxy(redis, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      const fn = value as (...a: unknown[]) => unknown;
      // multi() and pipeline() answer a builder, not a reply: left as they are.
      if (prop === 'multi' || prop === 'pipeline')
        return (...args: unknown[]): unknown => fn.apply(target, args);
      return async (...args: unknown[]): Promise<unknown> => {
        await stop();
        const reply: unknown = await fn.apply(target, args);
        await stop();
        return reply;
      };
    },
  });
  return { redis: wrapped, points: () => n };
}

/**
 * Runs `race(at)` for at = 0, 1, ... until the operation under test had no `at`-th point (the other one then ran
 * after it ended): every point between its Redis round trips is tried.
 */
async function atEveryPoint(race: (at: number) => Promise<{ points: () => number }>): Promise<void> {
  for (let at = 0; ; at++) {
    const conn = await race(at);
    if (conn.points() <= at) return;
  }
}

describe('callback secret rotation', () => {
  it('two concurrent rotations each keep their secret, and the one they replaced (every interleaving)', async () => {
    await atEveryPoint(async (at) => {
      const tenant = newTenant();
      const s0 = (await callbacks.create(tenant, 3600)).secret;
      let sA: string | undefined;
      const conn = interleaved(at, async () => {
        sA = (await callbacks.create(tenant, 3600)).secret;
      });
      const sB = (await new CallbackSecretStore(conn.redis, prefix).create(tenant, 3600)).secret;
      // Fewer points than `at`: the other rotation runs after this one.
      sA ??= (await callbacks.create(tenant, 3600)).secret;
      expect(new Set([s0, sA, sB]).size).toBe(3);
      expect(new Set(await callbacks.signing(tenant))).toEqual(new Set([s0, sA, sB]));
      return conn;
    });
  });

  it('a rotation racing a delete never brings the deleted secret back (every interleaving)', async () => {
    await atEveryPoint(async (at) => {
      const tenant = newTenant();
      const s0 = (await callbacks.create(tenant, 3600)).secret;
      let deleted = false;
      const conn = interleaved(at, async () => {
        deleted = await callbacks.remove(tenant);
      });
      const created = await new CallbackSecretStore(conn.redis, prefix).create(tenant, 3600);
      if (!deleted) await callbacks.remove(tenant);
      const signing = await callbacks.signing(tenant);
      // Deleted first: the rotation starts callbacks afresh, with its own secret only. Deleted after: off.
      expect([[], [created.secret]]).toContainEqual(signing);
      expect(signing).not.toContain(s0);
      return conn;
    });
  });

  it('answers its own secret, even when another rotation follows at once', async () => {
    const tenant = newTenant();
    await callbacks.create(tenant, 3600);
    const [a, b] = await Promise.all([callbacks.create(tenant, 3600), callbacks.create(tenant, 3600)]);
    expect(a.secret).not.toBe(b.secret);
    expect(b.previous.map((p) => p.secret)).toContain(a.secret);
  });

  it('overlap 0 revokes every replaced secret; the replaced ones are capped, latest expiry kept', async () => {
    const tenant = newTenant();
    const made: string[] = [];
    for (let i = 0; i < MAX_PREVIOUS_SECRETS + 3; i++)
      made.push((await callbacks.create(tenant, 3600)).secret);
    const signing = await callbacks.signing(tenant);
    expect(signing).toHaveLength(1 + MAX_PREVIOUS_SECRETS);
    expect(signing[0]).toBe(made.at(-1));
    expect(new Set(signing)).toEqual(new Set(made.slice(-1 - MAX_PREVIOUS_SECRETS)));
    const revoked = await callbacks.create(tenant, 0);
    expect(await callbacks.signing(tenant)).toEqual([revoked.secret]);
    expect(revoked.previousSecretExpiresMs).toBeUndefined();
  });

  it('reads and rotates a hash in the format before (one previousSecret)', async () => {
    const tenant = newTenant();
    const until = Date.now() + 60_000;
    await redis.hset(`${prefix}:wh:cb:${tenant}`, {
      secret: 'whsec_b2xk',
      createdAt: '2026-01-01T00:00:00.000Z',
      previousSecret: 'whsec_b2xkZXI=',
      previousSecretExpiresMs: String(until),
    });
    expect(await callbacks.get(tenant)).toMatchObject({ previousSecretExpiresMs: until });
    expect(await callbacks.signing(tenant)).toEqual(['whsec_b2xk', 'whsec_b2xkZXI=']);
    const next = await callbacks.create(tenant, 3600);
    expect(await callbacks.signing(tenant)).toEqual([next.secret, 'whsec_b2xk', 'whsec_b2xkZXI=']);
    // A process of the version before still finds the latest replaced secret in the single fields.
    expect(await redis.hget(`${prefix}:wh:cb:${tenant}`, 'previousSecret')).toBe('whsec_b2xk');
  });

  it('an expired replaced secret no longer signs', () => {
    const h = {
      secret: 'whsec_c',
      previous: JSON.stringify([
        { secret: 'whsec_b', expiresMs: 2_000 },
        { secret: 'whsec_a', expiresMs: 1_000 },
      ]),
    };
    expect(livePreviousSecrets(h, 1_500).map((p) => p.secret)).toEqual(['whsec_b']);
    expect(livePreviousSecrets(h, 2_000)).toEqual([]);
  });
});

describe('webhook endpoint rotation', () => {
  const input = { url: 'https://example.com/hook', events: ['image.completed' as const] };

  it('two concurrent rotations each keep their secret (every interleaving)', async () => {
    await atEveryPoint(async (at) => {
      const tenant = newTenant();
      const ep = await webhooks.create(tenant, input);
      let sA: string | undefined;
      const conn = interleaved(at, async () => {
        sA = (await webhooks.rotate(tenant, ep.id, 3600)).secret;
      });
      const sB = (await new WebhookStore(conn.redis, prefix).rotate(tenant, ep.id, 3600)).secret;
      sA ??= (await webhooks.rotate(tenant, ep.id, 3600)).secret;
      const now = await webhooks.require(tenant, ep.id);
      expect(new Set(signingSecrets(now))).toEqual(new Set([ep.secret, sA, sB]));
      return conn;
    });
  });

  it('a rotation racing a delete leaves no stray hash behind (every interleaving)', async () => {
    await atEveryPoint(async (at) => {
      const tenant = newTenant();
      const ep = await webhooks.create(tenant, input);
      let removed = false;
      const conn = interleaved(at, async () => {
        await webhooks.remove(tenant, ep.id);
        removed = true;
      });
      const rotated = await new WebhookStore(conn.redis, prefix).rotate(tenant, ep.id, 3600).then(
        () => 'rotated',
        (err: { code?: string }) => err.code,
      );
      if (!removed) await webhooks.remove(tenant, ep.id);
      expect(['rotated', 'webhook_not_found']).toContain(rotated);
      expect(await redis.exists(`${prefix}:wh:ep:${ep.id}`)).toBe(0);
      return conn;
    });
  });

  it("another tenant's endpoint is not found and not touched", async () => {
    const ep = await webhooks.create(newTenant(), input);
    await expect(webhooks.rotate(newTenant(), ep.id, 3600)).rejects.toMatchObject({
      code: 'webhook_not_found',
    });
    expect((await webhooks.byId(ep.id))?.secret).toBe(ep.secret);
  });
});
