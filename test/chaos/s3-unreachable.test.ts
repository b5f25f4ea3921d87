// S3 unreachable for 20 s with a backlog queued (issue #15, item 1): the worker's breaker pauses intake instead
// of spending attempts; every job completes once S3 answers, none failed storage_unavailable.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startChaosStack, type ChaosStack } from './stack.ts';

let stack: ChaosStack;
beforeAll(async () => {
  // Two attempts 200 ms apart: far shorter than the outage.
  stack = await startChaosStack({ env: { JOB_ATTEMPTS: '2', S3_CONNECT_TIMEOUT_MS: '500' } });
});
afterAll(() => stack.stop());

it('S3 unreachable for 20 s: every job completes after it returns, no attempt spent on the outage', async () => {
  const keys = await stack.putSources(20);
  await stack.worker();
  // Queued while S3 answers (the API reads S3 to dedup), then S3 goes away with the backlog waiting.
  const accepted = await stack.submitKeys(keys);
  stack.s3Proxy.down();
  await new Promise((r) => setTimeout(r, 20_000));
  expect(await stack.queue.getFailedCount()).toBe(0);
  stack.s3Proxy.up();
  const states = await stack.assertNothingLost(accepted.map((a) => a.id));
  expect([...states.values()].every((s) => s === 'completed')).toBe(true);
  for (const a of accepted) expect((await stack.queue.getJob(a.id))?.attemptsMade).toBe(1);
});
