// The real converted models (from `pnpm models`) through our preprocessing: golden outputs for the fixture
// photos, and EXIF orientation. CI runs `pnpm models` first; without models/ these tests FAIL (not skip).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferencePool, type InferencePool } from '@labelq/inference';
import { resultLabels } from '@labelq/contracts';
import { fixturesDir, modelsDir, photoNames, readPhoto } from '../fixtures/index.ts';

const MODELS = ['nsfw-mobilenet-v2', 'coco-centernet', 'faces', 'coco-nanodet'] as const;
const TOLERANCE = 1e-3;

interface Golden {
  model: { name: string; version: string; sha256: string };
  /** Per photo: the result entry without `task` and `model` (labels, instances, count, faces, lines). */
  images: Record<string, Record<string, unknown>>;
}

/** Same structure and strings; numbers within TOLERANCE. Label lists compare as sets (ties may swap). */
function expectClose(got: unknown, want: unknown, path: string): void {
  if (typeof want === 'number') {
    expect(typeof got, path).toBe('number');
    expect(Math.abs((got as number) - want), path).toBeLessThan(TOLERANCE);
  } else if (Array.isArray(want)) {
    expect(Array.isArray(got), path).toBe(true);
    const g = got as unknown[];
    expect(g.length, `${path} length`).toBe(want.length);
    const byName = path.endsWith('.labels');
    const key = (x: unknown) => (x as { name: string }).name;
    const order = (xs: unknown[]) => (byName ? [...xs].sort((a, b) => (key(a) < key(b) ? -1 : 1)) : xs);
    const [gs, ws] = [order(g), order(want)];
    ws.forEach((w, i) => expectClose(gs[i], w, `${path}[${i}]`));
  } else if (typeof want === 'object' && want !== null) {
    expect(Object.keys(got as object).sort(), path).toEqual(Object.keys(want).sort());
    for (const [k, w] of Object.entries(want))
      expectClose((got as Record<string, unknown>)[k], w, `${path}.${k}`);
  } else {
    expect(got, path).toEqual(want);
  }
}

describe('real models', () => {
  let pool: InferencePool;

  beforeAll(async () => {
    for (const m of MODELS) {
      if (!existsSync(join(modelsDir, `${m}.json`))) {
        throw new Error(`${modelsDir}/${m}.json is missing: run \`pnpm models\` before the tests`);
      }
    }
    pool = await createInferencePool({ modelsDir, models: [...MODELS], threads: 2 });
  });
  afterAll(async () => {
    await pool?.close();
  });

  for (const model of MODELS) {
    it(`${model}: fixture photos match test/fixtures/golden/${model}.json within ${TOLERANCE}`, async () => {
      const golden = JSON.parse(readFileSync(join(fixturesDir, 'golden', `${model}.json`), 'utf8')) as Golden;
      const manifest = pool.manifests.find((m) => m.name === model)!;
      expect(
        golden.model.sha256,
        'the model changed since the goldens were made: rerun `pnpm tsx scripts/golden.ts` and review',
      ).toBe(manifest.sha256);
      for (const photo of photoNames) {
        const out = await pool.classify(readPhoto(photo), { models: [model], topK: manifest.labels.length });
        const { task: _task, model: _model, ...found } = out.results[0]!;
        expectClose(found, golden.images[photo], `${model} ${photo}`);
        for (const l of resultLabels(out.results[0]!))
          expect(l.confidence >= 0 && l.confidence <= 1).toBe(true);
      }
    });
  }

  it('an orientation-6 JPEG gets the same top labels (close confidences) as its upright twin', async () => {
    const photo = readPhoto('astronaut');
    const upright = await sharp(photo).jpeg({ quality: 95 }).toBuffer();
    // Pixels stored rotated 90° counter-clockwise, tagged "rotate 90° clockwise to display" (orientation 6).
    const tagged = await sharp(photo)
      .rotate(-90)
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 95 })
      .toBuffer();
    expect((await sharp(tagged).metadata()).orientation).toBe(6);
    const a = await pool.classify(upright);
    const b = await pool.classify(tagged);
    expect([b.image.width, b.image.height]).toEqual([a.image.width, a.image.height]);
    for (const [i, ra] of a.results.entries()) {
      const rb = b.results[i]!;
      if (ra.task === 'faces' && rb.task === 'faces') {
        expect(rb.count, ra.model.name).toBe(ra.count);
        continue;
      }
      const [la, lb] = [resultLabels(ra), resultLabels(rb)];
      expect(lb[0]?.name, ra.model.name).toBe(la[0]?.name);
      expect(Math.abs(lb[0]!.confidence - la[0]!.confidence), ra.model.name).toBeLessThan(0.05);
    }
  });
});
