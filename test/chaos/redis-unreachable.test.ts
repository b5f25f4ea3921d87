// Redis unreachable for 2 x LOCK_DURATION_MS while jobs are active (issue #15), twice: first a partition
// (nothing answers, nothing closes: the locks of the active jobs expire in Redis meanwhile), then a refusal
// (every connection reset). The API answers 503 queue_unavailable within its deadline instead of hanging;
// afterwards API and worker carry on by themselves (same processes), every accepted job completes, and each
// result document is written exactly once: a job whose lock expired is re-run, finds its document and reuses it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startChaosStack, type ChaosStack } from './stack.ts';

let stack: ChaosStack;
beforeAll(async () => {
  stack = await startChaosStack({ redisProxy: true });
});
afterAll(() => stack.stop());

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitCompleted(n: number): Promise<void> {
  for (let i = 0; i < 1200 && (await stack.queue.getCompletedCount()) < n; i++) await sleep(25);
}

/** POST /v1/jobs without asserting the answer: status, code and how long it took. */
async function trySubmit(keys: string[]): Promise<{ status: number; code?: string; ms: number }> {
  const t0 = Date.now();
  const res = await fetch(`${stack.api.url}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(keys.map((key) => ({ key }))),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await res.json()) as { error?: { code: string } };
  return { status: res.status, ms: Date.now() - t0, ...(body.error ? { code: body.error.code } : {}) };
}

it('Redis unreachable for twice the lock duration, twice: nothing lost, results written once', async () => {
  const proxy = stack.redisProxy!;
  const outageMs = 2 * stack.config.worker.lockDurationMs;
  const keys = await stack.putSources(36);
  const late = await stack.putSources(6);
  const worker = await stack.worker();
  const accepted = await stack.submitKeys(keys);

  // Partition with jobs active.
  await waitCompleted(3);
  expect(await stack.queue.getActiveCount()).toBeGreaterThan(0);
  const partitionedAt = Date.now();
  proxy.blackhole();
  const during = await trySubmit(late);
  expect(during).toMatchObject({ status: 503, code: 'queue_unavailable' });
  expect(during.ms).toBeLessThan(outageMs);
  await sleep(outageMs - (Date.now() - partitionedAt));
  proxy.heal();

  // Refusal with jobs active.
  await waitCompleted((await stack.queue.getCompletedCount()) + 2);
  const refusedAt = Date.now();
  proxy.down();
  expect(await trySubmit(late)).toMatchObject({ status: 503, code: 'queue_unavailable' });
  await sleep(outageMs - (Date.now() - refusedAt));
  proxy.up();

  // The API takes work again by itself (it reconnects; no restart).
  let after: Awaited<ReturnType<typeof trySubmit>> | undefined;
  for (let i = 0; i < 60 && after?.status !== 202; i++) {
    after = await trySubmit(late);
    if (after.status !== 202) await sleep(250);
  }
  expect(after?.status).toBe(202);
  const lateIds = (await stack.queue.getJobs(['waiting', 'prioritized', 'active', 'completed']))
    .filter((j) => late.includes((j.data as { key: string }).key))
    .map((j) => j.id!);
  expect(lateIds).toHaveLength(late.length);

  const ids = [...accepted.map((a) => a.id), ...lateIds];
  const states = await stack.assertNothingLost(ids);
  expect([...states.values()].every((s) => s === 'completed')).toBe(true);
  // The same worker process did all of it.
  expect(worker.child.exitCode).toBeNull();
  expect(worker.output().match(/worker started/g)).toHaveLength(1);
  // The partition outlived the locks of the jobs active at its start: they were moved back as stalled and
  // re-run, which found their documents instead of classifying again.
  expect(worker.output()).toMatch(/stalled job moved back/);
  expect(worker.output()).toMatch(/result document exists for this ETag and model set; reusing it/);
  // Written once: exactly one PutObject per result document.
  const puts = new Map<string, number>();
  for (const line of stack.s3Proxy.requests) {
    const id = /^PUT \S*\/results\/default\/([^/?]+)\.json\?x-id=PutObject /.exec(line)?.[1];
    if (id !== undefined) puts.set(id, (puts.get(id) ?? 0) + 1);
  }
  expect(Object.fromEntries(ids.map((id) => [id, puts.get(id)]))).toEqual(
    Object.fromEntries(ids.map((id) => [id, 1])),
  );
});
