// Identical submissions at the same instant (issue #15, item 6): for each key a tagging and a moderation
// submission race; one job per key, exactly one caller told duplicate:false, moderation priority kept.
import { PRIORITY } from '@labelq/queue';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startChaosStack, type ChaosStack } from './stack.ts';

let stack: ChaosStack;
beforeAll(async () => {
  stack = await startChaosStack();
});
afterAll(() => stack.stop());

it('racing tagging and moderation submissions of each key make one moderation-priority job', async () => {
  const keys = await stack.putSources(20);
  const answers = await Promise.all(
    keys.flatMap((key, i) =>
      (i % 2 === 0 ? ['tagging', 'moderation'] : ['moderation', 'tagging']).map((purpose) =>
        stack.submitKeys([key], { purpose, metadata: { purpose } }).then(([a]) => a!),
      ),
    ),
  );
  const byId = new Map<string, boolean[]>();
  for (const a of answers) byId.set(a.id, [...(byId.get(a.id) ?? []), a.duplicate]);
  expect(byId.size).toBe(keys.length);
  for (const [id, dup] of byId) {
    expect(dup.sort(), id).toEqual([false, true]);
    expect((await stack.queue.getJob(id))?.priority, id).toBe(PRIORITY.moderation);
  }
  await stack.worker();
  const states = await stack.assertNothingLost([...byId.keys()]);
  expect([...states.values()].every((s) => s === 'completed')).toBe(true);
});
