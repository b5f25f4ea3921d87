// Decompression bombs and progressive 10000x10000 JPEGs (issue #15 item 3) among ordinary photos, on a worker
// with two pool threads and the default decode-memory budget (MAX_DECODE_BYTES_IN_FLIGHT, 256 MiB). Poison items
// fail at once with their reason code, everything else completes, results written once; and the worker's peak
// RSS stays below what two progressive decodes at once would need (the budget admits one at a time: each needs
// more than the whole budget). A bound from the budget's principle, not a measurement: RSS numbers are
// measured by `pnpm bench:decode-memory` (docs/benchmarks.md).
import { decodeFailedReason } from '@labelq/contracts';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { hostileCases, readHostile, writeHostileCorpus } from '../fixtures/hostile/index.ts';
import { progressiveCoefficientBytes, progressiveJpeg } from '../fixtures/progressive.ts';
import { startChaosStack, type ChaosStack } from './stack.ts';

const SIDE = 10_000;
const POISON = ['decompression bomb (20000x20000 PNG)', 'truncated JPEG', 'garbage after a JPEG header'];

let stack: ChaosStack;
beforeAll(async () => {
  stack = await startChaosStack({ env: { POOL_THREADS: '2', WORKER_CONCURRENCY: '4' } });
});
afterAll(() => stack.stop());

/** Resident set of process `pid`: `VmRSS` now, or `VmHWM` (its peak so far), bytes. */
function rss(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1]) * 1024;
}

it('bombs and huge progressive JPEGs: poison fails coded, the rest completes, peak RSS bounded by the budget', async () => {
  const run = `${stack.config.queue.name}/decode`;
  const corpus = await writeHostileCorpus();
  const poison = await Promise.all(
    POISON.map(async (name) => {
      const c = hostileCases.find((h) => h.name === name)!;
      const key = `${run}/poison/${c.file}`;
      await stack.store.putObject(stack.bucket, key, await readHostile(corpus, c));
      return { key, code: c.expect };
    }),
  );
  const huge: string[] = [];
  for (const [i, colour] of [
    { r: 220, g: 10, b: 10 },
    { r: 10, g: 10, b: 220 },
    { r: 10, g: 200, b: 10 },
  ].entries()) {
    const key = `${run}/progressive/${i}.jpg`;
    await stack.store.putObject(stack.bucket, key, await progressiveJpeg(SIDE, colour));
    huge.push(key);
  }
  const photos = await stack.putSources(4);

  const w = await stack.worker();
  const pid = w.child.pid!;
  const baseline = rss(pid, 'VmRSS');
  const keys = [...huge, ...poison.map((p) => p.key), ...photos];
  const accepted = await stack.submitKeys(keys);
  const states = await stack.assertNothingLost(
    accepted.map((a) => a.id),
    240_000,
  );

  const idOf = new Map(keys.map((key, i) => [key, accepted[i]!.id]));
  for (const key of [...huge, ...photos]) expect(states.get(idOf.get(key)!), key).toBe('completed');
  for (const p of poison) {
    const job = (await stack.queue.getJob(idOf.get(p.key)!))!;
    expect(states.get(job.id!), p.key).toBe('failed');
    expect(decodeFailedReason(job.failedReason).code, p.key).toBe(p.code);
    // Poison fails at once: no retries spent on it.
    expect(job.attemptsMade, p.key).toBe(1);
  }
  const peakAbove = rss(pid, 'VmHWM') - baseline;
  expect(peakAbove).toBeLessThan(2 * progressiveCoefficientBytes(SIDE));
});
