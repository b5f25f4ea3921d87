// The pool's urgent threads (POOL_URGENT_THREADS) with the synthetic classifier: an urgent image runs on a thread
// of its own while tagging images queue for the only bulk thread, tagging images never use the idle urgent thread,
// and the bulk threads' nice value is their own (Linux keeps it per thread), not the process's.
import { randomBytes } from 'node:crypto';
import { readFile, readdir, rm } from 'node:fs/promises';
import { getPriority } from 'node:os';
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

  it('an urgent image runs on the urgent thread; tagging images only on the bulk thread, one after another', async () => {
    const big = await png(3000, 3000);
    const tiny = await png(40, 30);
    const tagging: Promise<ImageClassification>[] = [0, 1, 2].map(() => pool.classify(new Uint8Array(big)));
    const urgent = await pool.classify(new Uint8Array(tiny), { urgent: true });
    const [first, second, third] = await Promise.all(tagging);
    // Which thread ran what, not when each ended (end times race on a loaded machine): the urgent image had a
    // thread of its own, and the tagging images all went to the one bulk thread although the urgent one was idle.
    const bulk = first!.ranAt!.thread;
    expect(urgent.ranAt!.thread).not.toBe(bulk);
    expect([second!.ranAt!.thread, third!.ranAt!.thread]).toEqual([bulk, bulk]);
    expect(second!.ranAt!.start).toBeGreaterThanOrEqual(first!.ranAt!.end);
    expect(third!.ranAt!.start).toBeGreaterThanOrEqual(second!.ranAt!.end);
    expect(pool.urgentThreads).toBe(1);
  });

  it.runIf(process.platform === 'linux')(
    "bulk threads run at nice 10 (or the process's, if higher), the urgent thread at the process's",
    async () => {
      // Relative to this process: a runner may itself run niced (a thread only ever raises its nice value).
      const own = getPriority(0);
      const bulk = Math.max(own, 10);
      expect(started.find((o) => 'nice' in o)?.nice).toEqual([`bulk:${bulk}`, `urgent:${own}`]);
      const nice = await threadNice();
      expect(nice.get(process.pid)).toBe(own);
      expect([...nice.values()].filter((n) => n === bulk).length).toBeGreaterThanOrEqual(1);
    },
  );
});
