// SIGTERM in flight (issue #15): a worker signalled with a backlog, one of its jobs hung on a download that
// outlives SHUTDOWN_TIMEOUT_MS. It takes no new job, finishes what can finish, hands the hung one back (its lock
// expires, no failure document is written) and exits 0; a second worker takes the rest. Every accepted job ends
// completed, results written once.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startChaosStack, type ChaosStack } from './stack.ts';

let stack: ChaosStack;
beforeAll(async () => {
  // A request timeout far beyond the deadline: only the deadline can end the hung job's wait.
  stack = await startChaosStack({ env: { SHUTDOWN_TIMEOUT_MS: '3000', S3_REQUEST_TIMEOUT_MS: '120000' } });
});
afterAll(() => stack.stop());

it('SIGTERM with jobs in flight: the worker drains or hands back, exits 0, and every job ends completed', async () => {
  const keys = await stack.putSources(12);
  const hungKey = keys[0]!;
  const hung = stack.s3Proxy.holdWhen(new RegExp(`^GET [^ ?]*${hungKey.replace(/[.]/g, '\\.')}[? ]`, 'm'));
  const accepted = await stack.submitKeys(keys);
  const a = await stack.worker();
  await hung;
  const signalledAt = Date.now();
  a.child.kill('SIGTERM');
  expect(await a.exited).toBe(0);
  // Not a speed check: a shutdown waiting for the hung job would take the 120 s request timeout.
  expect(Date.now() - signalledAt).toBeLessThan(3000 + 30_000);
  expect(a.output()).toMatch(/shutdown timeout: abandoning in-flight jobs/);
  // Handed back, not failed: the hung job has no document and is still active until its lock expires.
  const hungId = accepted[0]!.id;
  expect(await stack.store.getJson(stack.bucket, stack.store.resultKey('default', hungId))).toBeUndefined();
  expect(await (await stack.queue.getJob(hungId))?.getState()).toBe('active');
  // The stopping worker took no new job: a backlog is left for the next one.
  const left = await stack.queue.getJobCounts('waiting', 'prioritized');
  expect((left.waiting ?? 0) + (left.prioritized ?? 0)).toBeGreaterThan(0);

  stack.s3Proxy.release();
  await stack.worker();
  const states = await stack.assertNothingLost(accepted.map((x) => x.id));
  expect([...states.values()].every((s) => s === 'completed')).toBe(true);
});
