import { resultLabels } from '@labelq/contracts';
import { rm } from 'node:fs/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferencePool, type InferencePool } from '@labelq/inference';
import { hostileCases, readHostile, writeHostileCorpus } from '../fixtures/hostile/index.ts';
import { writeSyntheticModel } from '../fixtures/synthetic-classifier.ts';

describe('hostile inputs through the pool', () => {
  let modelDir: string;
  let corpus: string;
  let pool: InferencePool;

  beforeAll(async () => {
    corpus = await writeHostileCorpus();
    modelDir = await writeSyntheticModel();
    pool = await createInferencePool({ modelsDir: modelDir, threads: 2 });
  });
  afterAll(async () => {
    await pool?.close();
    await rm(modelDir, { recursive: true, force: true });
  });

  for (const c of hostileCases) {
    it(`${c.name} -> ${c.expect}`, async () => {
      const bytes = await readHostile(corpus, c);
      if (c.expect === 'ok') {
        const out = await pool.classify(bytes);
        expect({ width: out.image.width, height: out.image.height }).toEqual(c.size);
        expect(resultLabels(out.results[0]!)).toHaveLength(3);
      } else {
        await expect(pool.classify(bytes)).rejects.toMatchObject({ code: c.expect });
      }
    });
  }

  it('animated GIF and WebP use their first (red) frame', async () => {
    for (const file of ['animated.gif', 'animated.webp']) {
      const c = hostileCases.find((h) => h.file === file)!;
      const out = await pool.classify(await readHostile(corpus, c));
      expect(resultLabels(out.results[0]!)[0]!.name, file).toBe('red');
    }
  });

  it('flattens alpha onto white: half-transparent blue reads as light blue, fully transparent as white', async () => {
    const png = (alpha: number) =>
      sharp({ create: { width: 20, height: 20, channels: 4, background: { r: 0, g: 0, b: 255, alpha } } })
        .png()
        .toBuffer();
    const half = await pool.classify(await png(0.5));
    expect(resultLabels(half.results[0]!)[0]!.name).toBe('blue');
    const clear = await pool.classify(await png(0));
    // White = equal mean on every channel: the synthetic model's three scores are equal.
    for (const l of resultLabels(clear.results[0]!)) expect(l.confidence).toBeCloseTo(1 / 3, 3);
  });

  it('the bomb fails fast, from the header', async () => {
    const c = hostileCases.find((h) => h.file === 'bomb.png')!;
    const err = await pool.classify(await readHostile(corpus, c)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'image_too_large', details: { width: 20000, height: 20000 } });
  });

  it('a lower maxInputPixels rejects ordinary photos', async () => {
    const small = await createInferencePool({ modelsDir: modelDir, threads: 1, maxInputPixels: 1000 });
    try {
      const c = hostileCases.find((h) => h.file === 'camera.jpg')!;
      await expect(small.classify(await readHostile(corpus, c))).rejects.toMatchObject({
        code: 'image_too_large',
      });
    } finally {
      await small.close();
    }
  });

  it('still classifies after the whole corpus', async () => {
    const red = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#ff0000' } })
      .png()
      .toBuffer();
    const outs = await Promise.all([red, red, red].map((b) => pool.classify(new Uint8Array(b))));
    for (const o of outs) expect(resultLabels(o.results[0]!)[0]!.name).toBe('red');
  });
});
