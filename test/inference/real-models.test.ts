// The real converted models (from `pnpm models`) through our preprocessing: golden outputs for the fixture
// photos, and EXIF orientation. CI runs `pnpm models` first; without models/ these tests FAIL (not skip).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferencePool, type InferencePool } from '@labelq/inference';
import type { Instance, LabelScore } from '@labelq/contracts';
import { fixturesDir, modelsDir, photoNames, readPhoto } from '../fixtures/index.ts';

const MODELS = ['nsfw-mobilenet-v2', 'coco-nanodet'] as const;
const TOLERANCE = 1e-3;

interface Golden {
  model: { name: string; version: string; sha256: string };
  images: Record<string, { labels: LabelScore[]; instances?: Instance[] }>;
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
        const result = out.results[0]!;
        const want = golden.images[photo]!;
        const got = new Map(result.labels.map((l) => [l.name, l.confidence]));
        expect([...got.keys()].sort(), `${photo} labels`).toEqual(want.labels.map((l) => l.name).sort());
        for (const l of want.labels)
          expect(Math.abs(got.get(l.name)! - l.confidence), `${photo} ${l.name}`).toBeLessThan(TOLERANCE);
        expect(result.instances?.length, `${photo} instances`).toBe(want.instances?.length);
        for (const [i, w] of (want.instances ?? []).entries()) {
          const g = result.instances![i]!;
          expect(g.label).toBe(w.label);
          expect(Math.abs(g.confidence - w.confidence)).toBeLessThan(TOLERANCE);
          for (const k of ['x', 'y', 'width', 'height'] as const)
            expect(Math.abs(g.box[k] - w.box[k])).toBeLessThan(TOLERANCE);
        }
        for (const l of result.labels) expect(l.confidence >= 0 && l.confidence <= 1).toBe(true);
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
      expect(rb.labels[0]?.name, ra.model.name).toBe(ra.labels[0]?.name);
      expect(Math.abs(rb.labels[0]!.confidence - ra.labels[0]!.confidence), ra.model.name).toBeLessThan(0.05);
    }
  });
});
