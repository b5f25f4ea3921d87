// `labelq keys create|list|revoke`: the real CLI (node --import tsx, as `pnpm labelq` runs it) against the
// tests' Redis, each test under its own REDIS_KEY_PREFIX (removed afterwards).
import { Redis } from 'ioredis';
import { z } from 'zod';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KeyStore } from '@labelq/access';
import { apiKeyInfoSchema, createdApiKeySchema } from '@labelq/contracts';
import { freePort } from '@labelq/dev-services';
import { testRedisUrl, uniqueName } from '../helpers/env.ts';
import { runScript } from '../helpers/run-script.ts';

const MAIN = 'services/cli/src/main.ts';

let redis: Redis;
let prefix: string;
let store: KeyStore;

beforeAll(() => {
  redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
});
afterAll(() => {
  redis.disconnect();
});

/** A fresh prefix per test: no test sees another's keys (nor any real ones in the same Redis). */
function usePrefix(): void {
  prefix = uniqueName('labelq-keys-cli');
  store = new KeyStore(redis, { prefix, lastUsedEveryMs: 0 });
}
afterEach(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
});

/** The CLI with only what a person's shell would give it, plus the Redis and prefix under test. */
function keys(args: string[], env: Record<string, string> = {}) {
  return runScript(MAIN, ['keys', ...args], {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    REDIS_URL: testRedisUrl(),
    REDIS_KEY_PREFIX: prefix,
    ...env,
  });
}

describe('labelq keys create', () => {
  it('--json prints exactly the POST /v1/keys body; the key verifies with the scopes and buckets asked for', async () => {
    usePrefix();
    const before = Date.now();
    const out = await keys([
      'create',
      '--tenant',
      'acme',
      '--scopes',
      'submit,read',
      '--buckets',
      'photos,raw-in',
      '--expires',
      '90d',
      '--name',
      'ci uploader',
      '--json',
    ]);
    expect(out.code, out.stderr).toBe(0);
    // One JSON document, nothing else on stdout.
    const created = createdApiKeySchema.strict().parse(JSON.parse(out.stdout));
    expect(created).toMatchObject({
      tenant: 'acme',
      scopes: ['submit', 'read'],
      buckets: ['photos', 'raw-in'],
      name: 'ci uploader',
    });
    expect(created.key).toMatch(/^lq_live_/);
    expect(created.id).toMatch(/^key_[0-9a-f]{16}$/);
    const expires = Date.parse(created.expiresAt!) - before;
    expect(expires).toBeGreaterThan(90 * 86_400_000 - 60_000);
    expect(expires).toBeLessThan(90 * 86_400_000 + 60_000);

    expect(await store.verify(created.key)).toEqual({
      keyId: created.id,
      tenant: 'acme',
      scopes: ['submit', 'read'],
      buckets: ['photos', 'raw-in'],
    });
  });

  it('prints the key once, with a warning that it cannot be shown again, and what it grants', async () => {
    usePrefix();
    const out = await keys(['create', '--tenant', 'acme', '--scopes', 'read']);
    expect(out.code, out.stderr).toBe(0);
    const key = /lq_live_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/.exec(out.stdout)?.[0];
    expect(key, out.stdout).toBeDefined();
    expect(out.stdout.split(key!)).toHaveLength(2);
    expect(out.stdout).toMatch(/cannot be shown again/);
    expect(out.stdout).toMatch(/tenant\s+acme/);
    expect(out.stdout).toMatch(/scopes\s+read/);
    expect(out.stdout).toMatch(/expires\s+never/);
    expect((await store.verify(key!))?.tenant).toBe('acme');
  });
});

describe('labelq keys list', () => {
  it('shows every key (or one tenant’s) without the key or its hash, as a table and as JSON', async () => {
    usePrefix();
    const a = await store.create({ tenant: 'acme', scopes: ['submit', 'read'], name: 'uploader' });
    const b = await store.create({
      tenant: 'other',
      scopes: ['admin'],
      buckets: ['photos'],
      expiresIn: '12h',
    });
    await store.verify(a.key); // sets lastUsedAt
    const hashes = await Promise.all(
      [a, b].map(
        async (k) => (JSON.parse((await redis.get(`${prefix}:keys:${k.id}`))!) as { hash: string }).hash,
      ),
    );

    const table = await keys(['list']);
    expect(table.code, table.stderr).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(
      /^ID\s+TENANT\s+SCOPES\s+BUCKETS\s+CREATED\s+LAST USED\s+EXPIRES\s+REVOKED\s+NAME$/,
    );
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.startsWith(a.id))).toMatch(
      /^key_\w+\s+acme\s+submit,read\s+\*\s+\d{4}-\d\d-\d\d \d\d:\d\dZ\s+\d{4}-\d\d-\d\d \d\d:\d\dZ\s+-\s+-\s+uploader$/,
    );
    expect(rows.find((r) => r.startsWith(b.id))).toMatch(/\s+other\s+admin\s+photos\s+/);

    const json = await keys(['list', '--json']);
    expect(json.code, json.stderr).toBe(0);
    // The body of GET /v1/keys.
    const { keys: listed } = z
      .strictObject({ keys: z.array(apiKeyInfoSchema.strict()) })
      .parse(JSON.parse(json.stdout));
    expect(listed.map((k) => k.id).sort()).toEqual([a.id, b.id].sort());
    expect(listed.find((k) => k.id === a.id)?.lastUsedAt).toEqual(expect.any(String));

    for (const output of [table.stdout, json.stdout]) {
      expect(output).not.toContain('lq_live_');
      for (const hash of hashes) expect(output).not.toContain(hash);
    }

    const acme = await keys(['list', '--tenant', 'acme', '--json']);
    expect((JSON.parse(acme.stdout) as { keys: { id: string }[] }).keys.map((k) => k.id)).toEqual([a.id]);
    const none = await keys(['list', '--tenant', 'nobody']);
    expect(none).toMatchObject({ code: 0, stdout: 'No API keys for tenant nobody.\n' });
  });
});

describe('labelq keys revoke', () => {
  it('revokes at once (verify refuses the key), idempotently; an unknown id exits 1 with not_found', async () => {
    usePrefix();
    const k = await store.create({ tenant: 'acme', scopes: ['read'] });
    expect(await store.verify(k.key)).toBeDefined();

    const out = await keys(['revoke', k.id, '--json']);
    expect(out.code, out.stderr).toBe(0);
    const info = apiKeyInfoSchema.strict().parse(JSON.parse(out.stdout));
    expect(info).toMatchObject({ id: k.id, tenant: 'acme', revokedAt: expect.any(String) as unknown });
    expect(await store.verify(k.key)).toBeUndefined();

    const again = await keys(['revoke', k.id]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`already revoked at ${info.revokedAt}`);

    const unknown = await keys(['revoke', 'key_0000000000000000']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^labelq: not_found: /);
  });
});

describe('labelq keys usage and failures', () => {
  it('exits 2 with a message naming the flag on bad arguments, and writes nothing', async () => {
    usePrefix();
    const cases: [string[], RegExp][] = [
      [['create', '--tenant', 'acme', '--scopes', 'submit,write'], /--scopes: unknown scope "write"/],
      [['create', '--tenant', 'Acme Corp', '--scopes', 'read'], /--tenant: tenant ids are/],
      [['create', '--tenant', 'acme', '--scopes', 'read', '--expires', '90'], /--expires: /],
      [['create', '--tenant', 'acme', '--scopes', 'read', '--expires', '2w'], /--expires: /],
      [['create', '--scopes', 'read'], /needs --tenant/],
      [['create', '--tenant', 'acme'], /needs --scopes/],
      [
        ['create', '--tenant', 'acme', '--scopes', 'read', '--buckets', 'Bad_Bucket'],
        /--buckets: "Bad_Bucket"/,
      ],
      [['create', '--tenant', 'acme', '--scopes', 'read', '--bogus'], /Unknown option '--bogus'/],
      [['list', '--tenant', 'NOPE'], /--tenant: "NOPE" is not a tenant id/],
      [['revoke'], /needs exactly one key id/],
      [['revoke', 'nope'], /"nope" is not a key id/],
      [['rotate'], /Unknown keys action "rotate"/],
      [[], /needs an action/],
    ];
    const results = await Promise.all(cases.map(([args]) => keys(args)));
    results.forEach((out, i) => {
      const [args, message] = cases[i]!;
      expect(out.code, `${args.join(' ')}: ${out.stderr}`).toBe(2);
      expect(out.stderr, args.join(' ')).toMatch(message);
      expect(out.stderr, args.join(' ')).toContain('Usage: pnpm labelq keys');
      expect(out.stdout, args.join(' ')).toBe('');
    });
    expect(await redis.keys(`${prefix}:*`)).toEqual([]);
  });

  it('a whole key given to revoke is refused without echoing its secret', async () => {
    usePrefix();
    const secret = 'S'.repeat(43);
    const out = await keys(['revoke', `lq_live_0123456789abcdef_${secret}`]);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('key_0123456789abcdef');
    expect(out.stderr).not.toContain(secret);
  });

  it('exits 1 quickly with queue_unavailable when Redis is unreachable', async () => {
    usePrefix();
    const port = await freePort(); // nothing listens there
    const started = Date.now();
    const out = await keys(['create', '--tenant', 'acme', '--scopes', 'read'], {
      REDIS_URL: `redis://127.0.0.1:${port}`,
    });
    expect(out.code, out.stderr).toBe(1);
    expect(out.stderr).toMatch(
      /^labelq: queue_unavailable: Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable/,
    );
    expect(out.stdout).toBe('');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('exits 2 on an invalid environment variable', async () => {
    usePrefix();
    const out = await keys(['list'], { REDIS_KEY_PREFIX: 'bad prefix!' });
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/config_invalid: .*REDIS_KEY_PREFIX/);
  });
});
