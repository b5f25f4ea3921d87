// S3 503 SlowDown bursts on downloads: the SDK's retries, the breaker's probe and BullMQ's backoff absorb them;
// every job completes.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { s3ErrorResponse } from '../helpers/tcp-proxy.ts';
import { startChaosStack, type ChaosStack } from './stack.ts';

let stack: ChaosStack;
beforeAll(async () => {
  stack = await startChaosStack();
});
afterAll(() => stack.stop());

it('bursts of 503 SlowDown: every job completes', async () => {
  const keys = await stack.putSources(20);
  await stack.worker();
  const accepted = await stack.submitKeys(keys);
  for (let burst = 0; burst < 3; burst++) {
    stack.s3Proxy.answerWhen(/^GET [^ ]*\/src\//m, s3ErrorResponse(503, 'SlowDown'), 15);
    await new Promise((r) => setTimeout(r, 1500));
  }
  const states = await stack.assertNothingLost(accepted.map((a) => a.id));
  expect([...states.values()].every((s) => s === 'completed')).toBe(true);
});
