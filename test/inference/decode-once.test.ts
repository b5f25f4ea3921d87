// Decode once, shrunk on load to what the requested models need (packages/inference/src/image/decode-target.ts),
// against the full-size decode it replaced: real models, the fixture photos enlarged to phone-camera size
// (12 MP) so shrink-on-load actually happens, EXIF-rotated twins, and PNG with alpha.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp, { type Color } from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferencePool, type InferencePool } from '@labelq/inference';
import { createThreadModel, decodeImage, runModel, type ThreadModel } from '@labelq/inference/inline';
import { resultLabels, type ModelResult } from '@labelq/contracts';
import { loadModels } from '@labelq/models';
import { modelsDir, photoNames, readPhoto, type PhotoName } from '../fixtures/index.ts';

const MODELS = ['nsfw-mobilenet-v2', 'coco-nanodet'] as const;
/** What the issue allows a label's confidence to move by when decoding shrinks on load. */
const MAX_MOVE = 0.05;
const MAX_PIXELS = 100_000_000;

/** A fixture photo enlarged to 4032x3024 (a 12 MP phone photo) and re-encoded as a baseline JPEG. */
function phonePhoto(name: PhotoName): Promise<Buffer> {
  return sharp(readPhoto(name)).resize(4032, 3024, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
}

/**
 * Every label of `a` must be in `b` within MAX_MOVE, except a detector label that sits within MAX_MOVE of the
 * model's score threshold (it may cross it and vanish); the top-1 label must be the same.
 */
function expectClose(ra: ModelResult, rb: ModelResult, threshold: number, what: string): void {
  const [a, b] = [{ labels: resultLabels(ra) }, { labels: resultLabels(rb) }];
  expect(b.labels[0]?.name, `${what} top-1`).toBe(a.labels[0]?.name);
  const got = new Map(b.labels.map((l) => [l.name, l.confidence]));
  for (const l of a.labels) {
    const other = got.get(l.name);
    if (other === undefined)
      expect(l.confidence, `${what} ${l.name} vanished`).toBeLessThan(threshold + MAX_MOVE);
    else expect(Math.abs(other - l.confidence), `${what} ${l.name}`).toBeLessThan(MAX_MOVE);
  }
}

describe('decode once at the size the models need', () => {
  let models: ThreadModel[];
  let pool: InferencePool;

  beforeAll(async () => {
    for (const m of MODELS) {
      if (!existsSync(join(modelsDir, `${m}.json`))) {
        throw new Error(`${modelsDir}/${m}.json is missing: run \`pnpm models\` before the tests`);
      }
    }
    const loaded = await loadModels(modelsDir, [...MODELS]);
    models = await Promise.all(
      loaded.map((l) => createThreadModel(l.manifest, l.path, { intraOpThreads: 1 })),
    );
    pool = await createInferencePool({ modelsDir, models: [...MODELS], threads: 1 });
  });
  afterAll(async () => {
    await pool?.close();
    for (const m of models ?? []) await m.session.release();
  });

  const threshold = (m: ThreadModel): number =>
    m.manifest.task === 'detect' ? m.manifest.output.scoreThreshold : 0;
  const run = (m: ThreadModel, image: Awaited<ReturnType<typeof decodeImage>>) =>
    runModel(m, image, { topK: m.manifest.labels.length, minConfidence: 0 });

  it.each(photoNames)(
    '%s at 12 MP: shrunk decode keeps every top-1 and moves labels < 0.05, for each model set',
    async (name) => {
      const bytes = await phonePhoto(name);
      const full = await decodeImage(bytes, { maxInputPixels: MAX_PIXELS });
      expect([full.width, full.height]).toEqual([4032, 3024]);
      for (const set of [[models[0]!], [models[1]!], models]) {
        const small = await decodeImage(bytes, {
          maxInputPixels: MAX_PIXELS,
          models: set.map((m) => m.manifest.input),
        });
        // Shrunk on load, the original size still known.
        expect(small.width * small.height).toBeLessThan((full.width * full.height) / 16);
        expect(small.original).toEqual({ width: 4032, height: 3024 });
        expect(small.data.length).toBe(small.width * small.height * 3);
        for (const m of set) {
          expectClose(await run(m, full), await run(m, small), threshold(m), `${name} ${m.manifest.name}`);
        }
      }
    },
  );

  it('an EXIF orientation-6 12 MP photo agrees with its upright twin, through the pool', async () => {
    for (const name of ['astronaut', 'coffee'] as const) {
      const upright = await phonePhoto(name);
      // Pixels stored rotated 90° counter-clockwise, tagged "rotate 90° clockwise to display" (orientation 6).
      const tagged = await sharp(upright)
        .rotate(-90)
        .withMetadata({ orientation: 6 })
        .jpeg({ quality: 90 })
        .toBuffer();
      const meta = await sharp(tagged).metadata();
      expect([meta.width, meta.height, meta.orientation]).toEqual([3024, 4032, 6]);
      const a = await pool.classify(upright);
      const b = await pool.classify(tagged);
      // The original's upright size is reported, not the decoded (shrunk) one.
      expect(b.image).toEqual({ format: 'jpeg', width: 4032, height: 3024 });
      expect(a.image).toEqual(b.image);
      for (const [i, ra] of a.results.entries()) {
        const m = models.find((x) => x.manifest.name === ra.model.name)!;
        expectClose(ra, b.results[i]!, threshold(m), `${name} ${ra.model.name}`);
      }
    }
  });

  it('a large PNG with alpha decodes once (flattened onto white) and matches its opaque twin', async () => {
    // A screenshot-like 2400x1800 RGBA PNG: the photo on a transparent canvas twice its size.
    const photo = await sharp(readPhoto('coffee')).resize(1200, 900, { fit: 'fill' }).png().toBuffer();
    const canvas = (background: Color) =>
      sharp({ create: { width: 2400, height: 1800, channels: 4, background } })
        .composite([{ input: photo, left: 600, top: 450 }])
        .png()
        .toBuffer();
    const transparent = await canvas({ r: 0, g: 0, b: 0, alpha: 0 });
    const white = await canvas({ r: 255, g: 255, b: 255, alpha: 1 });
    expect((await sharp(transparent).metadata()).hasAlpha).toBe(true);
    const decoded = await decodeImage(transparent, {
      maxInputPixels: MAX_PIXELS,
      models: models.map((m) => m.manifest.input),
    });
    expect(decoded.original).toEqual({ width: 2400, height: 1800 });
    expect(decoded.width).toBeLessThan(2400);
    // The transparent corner reads as white.
    expect(Array.from(decoded.data.subarray(0, 3))).toEqual([255, 255, 255]);
    const a = await pool.classify(white);
    const b = await pool.classify(transparent);
    expect(b.image).toEqual({ format: 'png', width: 2400, height: 1800 });
    for (const [i, ra] of a.results.entries()) {
      const m = models.find((x) => x.manifest.name === ra.model.name)!;
      expectClose(ra, b.results[i]!, threshold(m), `png ${ra.model.name}`);
    }
  });
});
