// The pool's urgent threads (POOL_URGENT_THREADS) with the synthetic classifier: an urgent image runs while the
// only bulk thread is busy, tagging images never use the idle urgent thread, and the bulk threads' nice value is
// their own (Linux keeps it per thread), not the process's.
import { randomBytes } from 'node:crypto';
import { readFile, readdir, rm } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferencePool, type ImageClassification, type InferencePool } from '@labelq/inference';
import { writeSyntheticModel } from '../fixtures/synthetic-classifier.ts';

/** A PNG of random pixels (no shrink on load): decoding it keeps a thread busy far longer than a tiny image. */
function png(width: number, height: number): Promise<Buffer> {
  return sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toBuffer();
}

/** Nice value of each thread of this process (field 19 of /proc/<pid>/task/<tid>/stat), by thread id. */
async function threadNice(): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const tid of await readdir(`/proc/${process.pid}/task`)) {
    const stat = await readFile(`/proc/${process.pid}/task/${tid}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) continue;
    out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return out;
}

describe('urgent pool threads', () => {
  let dir: string;
  let pool: InferencePool;
  const started: Record<string, unknown>[] = [];

  beforeAll(async () => {
    dir = await writeSyntheticModel();
    pool = await createInferencePool({
      modelsDir: dir,
      threads: 1,
      urgentThreads: 1,
      logger: { info: (o) => started.push(o as Record<string, unknown>), warn: () => {}, error: () => {} },
    });
  });
  afterAll(async () => {
    await pool?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('an urgent image runs beside a busy bulk thread; tagging images wait for the bulk thread only', async () => {
    const big = await png(3000, 3000);
    const tiny = await png(40, 30);
    const tagging: Promise<ImageClassification>[] = [0, 1, 2].map(() => pool.classify(new Uint8Array(big)));
    const urgent = await pool.classify(new Uint8Array(tiny), { urgent: true });
    const [first, second, third] = await Promise.all(tagging);
    // It finished before the first tagging image, which was on the only bulk thread before it was submitted.
    expect(urgent.ranAt!.end).toBeLessThan(first!.ranAt!.end);
    // The tagging images ran one after another although the urgent thread was idle.
    expect(second!.ranAt!.start).toBeGreaterThanOrEqual(first!.ranAt!.end);
    expect(third!.ranAt!.start).toBeGreaterThanOrEqual(second!.ranAt!.end);
    expect(pool.urgentThreads).toBe(1);
  });

  it.runIf(process.platform === 'linux')(
    'bulk threads run at nice 10, the urgent thread and the process at 0',
    async () => {
      expect(started.find((o) => 'nice' in o)?.nice).toEqual(['bulk:10', 'urgent:0']);
      const nice = await threadNice();
      expect(nice.get(process.pid)).toBe(0);
      expect([...nice.values()].filter((n) => n === 10).length).toBeGreaterThanOrEqual(1);
    },
  );
});
