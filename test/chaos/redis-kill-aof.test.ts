// Redis kill -9 and restart with AOF (fsync always) while jobs run: the worker and the API reconnect by
// themselves, every job the API accepted (202) before the crash still exists and completes.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startChaosStack, type ChaosStack } from './stack.ts';

let stack: ChaosStack;
beforeAll(async () => {
  stack = await startChaosStack({ aof: true });
});
afterAll(() => stack.stop());

it('kill -9 of an AOF Redis mid-run loses no accepted job', async () => {
  const keys = await stack.putSources(24);
  await stack.worker();
  const accepted = await stack.submitKeys(keys);
  // Let a few finish, then crash Redis with the rest queued or active.
  for (let i = 0; i < 200 && (await stack.queue.getCompletedCount()) < 3; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  await stack.restartRedis();
  const more = await stack.putSources(10);
  // The API answers again once it reconnected (it retries Redis every 2 s at most).
  let late: Awaited<ReturnType<ChaosStack['submitKeys']>> | undefined;
  for (let i = 0; i < 40 && late === undefined; i++) {
    const res = await fetch(`${stack.api.url}/readyz`);
    if (res.status === 200) late = await stack.submitKeys(more);
    else await new Promise((r) => setTimeout(r, 250));
  }
  expect(late).toBeDefined();
  const ids = [...accepted, ...late!].map((a) => a.id);
  const states = await stack.assertNothingLost(ids);
  expect([...states.values()].every((s) => s === 'completed')).toBe(true);
});
