// Worker kill -9 mid-inference, twice, with a backlog: the jobs of the dead workers are taken over after their
// locks expire; nothing is lost, nothing runs into job_stalled more than MAX_STALLED_COUNT allows.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startChaosStack, type ChaosStack } from './stack.ts';

let stack: ChaosStack;
beforeAll(async () => {
  stack = await startChaosStack({ env: { MAX_STALLED_COUNT: '2' } });
});
afterAll(() => stack.stop());

async function waitActive(stack: ChaosStack): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await stack.queue.getActiveCount()) > 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no job became active');
}

it('kill -9 of workers mid-job: every accepted job ends completed', async () => {
  const keys = await stack.putSources(24);
  const accepted = await stack.submitKeys(keys);
  for (let round = 0; round < 2; round++) {
    const w = await stack.worker();
    await waitActive(stack);
    w.child.kill('SIGKILL');
    expect(await w.exited).toBe('SIGKILL');
  }
  await stack.worker();
  const states = await stack.assertNothingLost(accepted.map((a) => a.id));
  expect([...states.values()].filter((s) => s === 'completed').length).toBe(accepted.length);
});
