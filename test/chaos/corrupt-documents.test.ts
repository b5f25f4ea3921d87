// Corrupt result documents (issue #15, item 5): 0-byte and truncated documents left by PUTs cut mid-body count
// as absent: GET answers 404 (never 500), a resubmission queues the key again and the worker rewrites them.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startChaosStack, type ChaosStack } from './stack.ts';

let stack: ChaosStack;
beforeAll(async () => {
  stack = await startChaosStack();
});
afterAll(() => stack.stop());

it('0-byte and truncated documents are absent, re-run and rewritten', async () => {
  const keys = await stack.putSources(10);
  const first = await stack.submitKeys(keys);
  // The jobs leave Redis (as after KEEP_COMPLETED_SECONDS); only their cut documents are left.
  for (const [i, a] of first.entries()) {
    await stack.queue.remove(a.id);
    await stack.s3.client.send(
      new PutObjectCommand({
        Bucket: stack.config.s3.bucket,
        Key: stack.store.resultKey('default', a.id),
        Body: i % 2 === 0 ? '' : '{"status":"completed","schemaVersion":2,"id":',
      }),
    );
    expect((await fetch(`${stack.api.url}/v1/images/${a.id}`)).status).toBe(404);
  }
  const again = await stack.submitKeys(keys);
  for (const a of again) expect(a).toMatchObject({ status: 'queued', duplicate: false });
  await stack.worker();
  const states = await stack.assertNothingLost(again.map((a) => a.id));
  expect([...states.values()].every((s) => s === 'completed')).toBe(true);
});
