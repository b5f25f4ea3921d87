import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret, signWebhook } from './secrets.ts';
import { retryDelay } from './worker.ts';

describe('signWebhook', () => {
  it('verifies with the standardwebhooks library, with either secret during a rotation overlap', () => {
    const [current, previous, other] = [newWebhookSecret(), newWebhookSecret(), newWebhookSecret()];
    const body = JSON.stringify({
      type: 'image.completed',
      timestamp: new Date().toISOString(),
      data: { id: 'x' },
    });
    const headers = signWebhook('evt_0123', new Date(), body, [current, previous]);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    for (const secret of [current, previous]) {
      expect(new Webhook(secret).verify(body, { ...headers })).toMatchObject({ type: 'image.completed' });
    }
    expect(() => new Webhook(other).verify(body, { ...headers })).toThrow();
    expect(() => new Webhook(current).verify(body.replace('x', 'y'), { ...headers })).toThrow();
  });
});

describe('retryDelay', () => {
  const schedule = [5_000, 300_000, 1_800_000];
  it.each([
    [1, 5_000],
    [2, 300_000],
    [3, 1_800_000],
    [4, 1_800_000],
    [0, 5_000],
  ])('after attempt %i waits %i ms', (attempts, ms) => {
    expect(retryDelay(schedule, attempts)).toBe(ms);
  });
});
