// Callback deliveries re-check what the installation allows (#10 review): the webhooks worker against the
// tests' Redis (a queue and key prefix of its own) and a real HTTP receiver. The events stand for callbackUrls
// the API accepted earlier, while the installation still allowed their tenant; the worker runs with the
// configuration the operator changed since (CALLBACK_URL_TENANTS without that tenant), as after a restart.
import { decodeFailedReason, type CallbackAttempt } from '@labelq/contracts';
import { loadConfig, type Config } from '@labelq/config';
import {
  CallbackSecretStore,
  createWebhookQueue,
  createWebhookWorker,
  webhookEvent,
  WebhookEvents,
  WebhookStore,
  type WebhookQueue,
  type WebhookWorker,
} from '@labelq/webhooks';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv, testRedisUrl, uniqueName } from '../helpers/env.ts';
import { WebhookReceiver } from '../helpers/webhook-receiver.ts';

const ALLOWED = 'allowed-co';
/** Allowed when its callbackUrl was accepted; the operator has taken it off CALLBACK_URL_TENANTS since. */
const REMOVED = 'removed-co';
/** Still allowed, but it deleted its callback secret (callbacks off). */
const OFF = 'off-co';

const receiver = new WebhookReceiver();
let config: Config;
let redis: Redis;
let queue: WebhookQueue;
let callbacks: CallbackSecretStore;
let worker: WebhookWorker;
const secrets: Record<string, string> = {};

beforeAll(async () => {
  await receiver.start();
  const run = uniqueName('callbacks');
  config = loadConfig(
    testEnv({
      redisUrl: testRedisUrl(),
      queueName: run,
      s3Endpoint: 'http://127.0.0.1:9',
      bucket: 'unused',
      extra: {
        REDIS_KEY_PREFIX: run,
        WEBHOOK_ALLOWED_HOSTS: `127.0.0.1:${receiver.port}`,
        CALLBACK_URL_TENANTS: `${ALLOWED},${OFF}`,
        WEBHOOK_RETRY_SCHEDULE_MS: '200',
        WEBHOOK_TIMEOUT_MS: '2000',
      },
    }),
  );
  redis = new Redis(config.redis.url, { maxRetriesPerRequest: null });
  queue = createWebhookQueue(config, redis);
  callbacks = new CallbackSecretStore(redis, config.redis.keyPrefix);
  // Each tenant turned callbacks on while it was allowed.
  for (const tenant of [ALLOWED, REMOVED, OFF]) secrets[tenant] = (await callbacks.create(tenant, 0)).secret;
  await callbacks.remove(OFF);
  worker = createWebhookWorker({
    config,
    connection: redis.duplicate(),
    queue,
    store: new WebhookStore(redis, config.redis.keyPrefix),
    logger: pino({ level: 'silent' }),
    callbacks,
  });
  await worker.worker.waitUntilReady();
});

afterAll(async () => {
  await worker?.close();
  await queue?.obliterate({ force: true }).catch(() => undefined);
  await queue?.close();
  const left = await redis.keys(`${config.redis.keyPrefix}:*`);
  if (left.length > 0) await redis.del(...left);
  redis?.disconnect();
  await receiver.stop();
});

/** The tenant's callback log once it has an entry (checked every 50 ms, for at most `ms`). */
async function firstAttempt(tenant: string, ms = 20_000): Promise<CallbackAttempt[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const log = await callbacks.attempts(tenant);
    if (log.length > 0) return log;
    if (Date.now() > deadline) throw new Error(`no callback attempt logged for ${tenant}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function emit(tenant: string): Promise<{ eventId: string; url: string }> {
  const url = receiver.url(`/cb/${tenant}`);
  const event = webhookEvent(tenant, 'image.completed', { id: `img_${'1'.repeat(32)}` }, [tenant], {
    callbackUrl: url,
  });
  await new WebhookEvents(queue, new WebhookStore(redis, config.redis.keyPrefix), 0).emit(event);
  return { eventId: event.id, url };
}

describe('callback delivery re-checks the installation and the tenant', () => {
  it('delivers for an allowed tenant and logs it', async () => {
    const { eventId, url } = await emit(ALLOWED);
    const [attempt] = await firstAttempt(ALLOWED);
    expect(attempt).toMatchObject({ eventId, url, status: 'delivered', statusCode: 200, attempt: 1 });
    expect(receiver.verified(`/cb/${ALLOWED}`, secrets[ALLOWED]!).map((e) => e.id)).toEqual([eventId]);
  });

  it.each([
    [REMOVED, 'callback_not_allowed', /no longer allows callbacks for removed-co/],
    [OFF, 'callback_not_enabled', /turned callbacks off/],
  ])(
    'a %s callback is not sent: dead at once with %s in its log and its failed job',
    async (tenant, code, message) => {
      const { eventId, url } = await emit(tenant);
      const log = await firstAttempt(tenant);
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ eventId, url, status: 'dead', attempt: 1, error: { code } });
      expect(log[0]!.error!.message).toMatch(message);
      const job = await queue.getJob(`${eventId}-callback`);
      // Not retried: the dead-letter set holds it after one attempt, its reason coded.
      await expect.poll(() => job?.getState() ?? 'gone', { timeout: 5000 }).toBe('failed');
      const failed = await queue.getJob(`${eventId}-callback`);
      expect(failed?.attemptsMade).toBe(1);
      expect(decodeFailedReason(failed?.failedReason).code).toBe(code);
      expect(receiver.received.filter((r) => r.path === `/cb/${tenant}`)).toEqual([]);
    },
  );
});
