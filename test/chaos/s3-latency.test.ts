// S3 latency above the deadline (issue #15): for 15 s every S3 answer arrives 4 s late, past the worker's
// S3_REQUEST_TIMEOUT_MS (1.5 s), with a backlog queued and two attempts per job. A slow S3 is an outage like a
// dead one: the breaker's HeadBucket probe times out too, intake pauses and the jobs go back without spending
// attempts; when S3 is fast again every job completes (none `timeout`, `storage_unavailable` or `internal`), and
// the same worker process carries on.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startChaosStack, type ChaosStack } from './stack.ts';

let stack: ChaosStack;
beforeAll(async () => {
  stack = await startChaosStack({ env: { JOB_ATTEMPTS: '2', S3_REQUEST_TIMEOUT_MS: '1500' } });
});
afterAll(() => stack.stop());

it('S3 slower than the deadline for 15 s: the breaker pauses intake, every job completes', async () => {
  const keys = await stack.putSources(24);
  const worker = await stack.worker();
  const accepted = await stack.submitKeys(keys);
  // Slow S3 down with the backlog partly done: some jobs are mid-download when the latency starts.
  for (let i = 0; i < 400 && (await stack.queue.getCompletedCount()) < 3; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  stack.s3Proxy.setLatency(4000);
  await new Promise((r) => setTimeout(r, 15_000));
  // 15 s of timeouts with 2 attempts 200 ms apart: without the breaker most of the backlog fails here.
  expect(await stack.queue.getFailedCount()).toBe(0);
  expect(worker.output()).toMatch(/s3 is unreachable: pausing job intake/);
  stack.s3Proxy.setLatency(0);
  const states = await stack.assertNothingLost(accepted.map((a) => a.id));
  expect([...states.values()].every((s) => s === 'completed')).toBe(true);
  expect(worker.child.exitCode).toBeNull();
});
