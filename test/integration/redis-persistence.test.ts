// A Redis that persists nothing loses every accepted job on a restart (issue #15, item 7): the start checks
// refuse it (or warn, per REDIS_PERSISTENCE), as they refuse an evicting Redis. Private redis-servers.
import { startRedisServer, type RedisServerHandle } from '@labelq/dev-services';
import { startApi } from '@labelq/api';
import { loadConfig } from '@labelq/config';
import { assertPersistence } from '@labelq/queue';
import { Redis } from 'ioredis';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv, uniqueName } from '../helpers/env.ts';

describe('Redis persistence check', () => {
  let bare: RedisServerHandle;
  let aof: RedisServerHandle;
  let dir: string;
  const clients: Redis[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'labelq-aof-'));
    bare = await startRedisServer();
    aof = await startRedisServer({ args: ['--dir', dir, '--appendonly', 'yes'] });
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await bare.stop();
    await aof.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function client(url: string): Redis {
    const c = new Redis(url);
    clients.push(c);
    return c;
  }

  function recorder() {
    const lines: string[] = [];
    return {
      lines,
      logger: {
        warn: (_o: object, m: string) => lines.push(`warn ${m}`),
        error: (_o: object, m: string) => lines.push(`error ${m}`),
      },
    };
  }

  it.each<
    [string, 'refuse' | 'warn' | 'off', 'bare' | 'aof' | 'rdb', string | undefined, RegExp | undefined]
  >([
    ['refuse: no AOF, no save points', 'refuse', 'bare', 'redis_not_persistent', undefined],
    ['warn: no AOF, no save points', 'warn', 'bare', undefined, /^error Redis persists nothing/],
    ['off', 'off', 'bare', undefined, undefined],
    ['refuse: AOF on', 'refuse', 'aof', undefined, undefined],
    [
      'refuse: RDB save points only (accepted, called out)',
      'refuse',
      'rdb',
      undefined,
      /^warn .*RDB snapshots only/,
    ],
  ])('%s', async (_name, mode, server, code, logged) => {
    const redis = client(server === 'aof' ? aof.url : bare.url);
    if (server === 'rdb') await redis.config('SET', 'save', '3600 1');
    const { lines, logger } = recorder();
    try {
      const check = assertPersistence(redis, mode, logger);
      if (code !== undefined) await expect(check).rejects.toMatchObject({ code });
      else await check;
    } finally {
      if (server === 'rdb') await redis.config('SET', 'save', '');
    }
    if (logged) expect(lines).toEqual([expect.stringMatching(logged)]);
    else expect(lines).toEqual([]);
  });

  it('the API refuses to start on it when REDIS_PERSISTENCE=refuse (NODE_ENV=production)', async () => {
    const config = loadConfig(
      testEnv({
        redisUrl: bare.url,
        s3Endpoint: 'http://127.0.0.1:9',
        bucket: 'unused',
        queueName: uniqueName('persist'),
        extra: { NODE_ENV: 'production', AUTH_DISABLED: 'true', API_HOST: '127.0.0.1', API_PORT: '0' },
      }),
    );
    expect(config.redis.persistence).toBe('refuse');
    await expect(
      startApi(config, pino({ level: 'silent' }), { models: ['nsfw-mobilenet-v2'] }),
    ).rejects.toMatchObject({
      code: 'redis_not_persistent',
    });
    expect(loadConfig({}).redis.persistence).toBe('warn');
  });
});
