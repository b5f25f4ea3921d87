// Sources deleted or replaced while their jobs wait: a deleted one fails with object_not_found (a reason, a
// failure document), a replaced one is classified from its new bytes; nothing else is affected.
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readPhoto } from '../fixtures/index.ts';
import { startChaosStack, type ChaosStack } from './stack.ts';

let stack: ChaosStack;
beforeAll(async () => {
  stack = await startChaosStack();
});
afterAll(() => stack.stop());

it('deleted sources fail with object_not_found, replaced ones complete from their new bytes', async () => {
  const keys = await stack.putSources(12);
  const accepted = await stack.submitKeys(keys);
  const bucket = stack.config.s3.bucket;
  const deleted = new Set([0, 1, 2].map((i) => accepted[i]!.id));
  for (const i of [0, 1, 2])
    await stack.s3.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: keys[i] }));
  const replaced = readPhoto('rocket');
  for (const i of [3, 4]) await stack.store.putObject(bucket, keys[i]!, replaced);
  await stack.worker();
  const states = await stack.assertNothingLost(accepted.map((a) => a.id));
  for (const a of accepted) {
    const job = (await stack.queue.getJob(a.id))!;
    if (deleted.has(a.id)) {
      expect(states.get(a.id)).toBe('failed');
      expect(job.failedReason).toMatch(/object_not_found/);
    } else expect(states.get(a.id)).toBe('completed');
  }
  for (const i of [3, 4]) {
    const doc = (await stack.store.getJson(bucket, stack.store.resultKey('default', accepted[i]!.id))) as {
      source: { bytes: number };
    };
    expect(doc.source.bytes).toBe(replaced.length);
  }
});
