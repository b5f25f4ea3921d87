// The pool's decode-memory budget (maxDecodeBytes): progressive JPEGs are small to download but large to decode
// (every DCT coefficient of the whole image is kept, even when shrinking on load), so the pool reserves memory
// estimated from each header before a thread decodes it. Asserts the budget's behaviour (which tasks may run
// together, from the threads' own start/end stamps), never time or RSS numbers: RSS is measured by
// scripts/bench/decode-memory.ts.
import { rm } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferencePool, type ImageClassification, type InferencePool } from '@labelq/inference';
import { resultLabels } from '@labelq/contracts';
import { progressiveJpeg } from '../fixtures/progressive.ts';
import { writeSyntheticModel } from '../fixtures/synthetic-classifier.ts';

const BUDGET = 64 * 1024 * 1024;

function overlaps(a: ImageClassification, b: ImageClassification): boolean {
  return a.ranAt!.start < b.ranAt!.end && b.ranAt!.start < a.ranAt!.end;
}

describe('decode-memory budget', () => {
  let modelDir: string;
  let pool: InferencePool;

  beforeAll(async () => {
    modelDir = await writeSyntheticModel();
    pool = await createInferencePool({ modelsDir: modelDir, threads: 2, maxDecodeBytes: BUDGET });
  });
  afterAll(async () => {
    await pool?.close();
    await rm(modelDir, { recursive: true, force: true });
  });

  it('serialises huge progressive JPEGs that would not fit together; one larger than the budget runs alone', async () => {
    const red = { r: 220, g: 10, b: 10 };
    const blue = { r: 10, g: 10, b: 220 };
    // 4000x4000 4:2:0: ~48 MB of coefficients each, so no two fit in 64 MiB. 6000x6000: ~108 MB, over budget.
    const big = await Promise.all([
      progressiveJpeg(4000, red),
      progressiveJpeg(4000, blue),
      progressiveJpeg(4000, red),
    ]);
    const huge = await progressiveJpeg(6000, blue);
    const small = await Promise.all(
      Array.from({ length: 4 }, () =>
        sharp({ create: { width: 640, height: 480, channels: 3, background: red } })
          .jpeg()
          .toBuffer(),
      ),
    );
    for (const b of [...big, huge]) expect(b.length, 'a few KB compressed').toBeLessThan(2_000_000);

    const [bigOut, hugeOut, smallOut] = await Promise.all([
      Promise.all(big.map((b) => pool.classify(b))),
      pool.classify(huge),
      Promise.all(small.map((b) => pool.classify(b))),
    ]);

    // Reserved from the header: at least the coefficient buffer.
    for (const out of bigOut) expect(out.decodeBytes).toBeGreaterThanOrEqual(4000 * 4000 * 3);
    expect(hugeOut.decodeBytes).toBeGreaterThan(BUDGET);
    for (const out of smallOut) expect(out.decodeBytes).toBeLessThan(BUDGET / 8);
    // No two big ones ran at the same time, although the pool has two threads.
    for (let i = 0; i < bigOut.length; i++)
      for (let j = i + 1; j < bigOut.length; j++)
        expect(overlaps(bigOut[i]!, bigOut[j]!), `big ${i} and ${j} overlapped`).toBe(false);
    // Over budget: not refused (the pixel limit bounds one image), run with nothing else in flight.
    for (const other of [...bigOut, ...smallOut])
      expect(overlaps(hugeOut, other), 'the huge image ran alongside another').toBe(false);
    // And the pixels were right.
    expect(bigOut.map((o) => resultLabels(o.results[0]!)[0]!.name)).toEqual(['red', 'blue', 'red']);
    expect(resultLabels(hugeOut.results[0]!)[0]!.name).toBe('blue');
    expect(hugeOut.image).toEqual({ format: 'jpeg', width: 6000, height: 6000 });
  });

  it('reserves nothing for a header it cannot read or a picture over the pixel limit (the thread refuses them)', async () => {
    await expect(pool.classify(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0]))).rejects.toMatchObject({
      code: 'image_decode_failed',
    });
    const limited = await createInferencePool({
      modelsDir: modelDir,
      threads: 1,
      maxInputPixels: 1000 * 1000,
      maxDecodeBytes: 1,
    });
    try {
      await expect(limited.classify(await progressiveJpeg(2000, { r: 1, g: 2, b: 3 }))).rejects.toMatchObject(
        {
          code: 'image_too_large',
        },
      );
    } finally {
      await limited.close();
    }
  });
});
