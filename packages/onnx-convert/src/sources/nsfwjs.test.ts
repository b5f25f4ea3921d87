// The converted NSFWJS models against the originals running in TF.js (pure-JS CPU backend): on the fixture
// photos, fed the identical float32 tensor, the ONNX model agrees within 1e-4 with the same top-1 class.
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import * as nsfwjs from 'nsfwjs';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { photoNames, photos, repoRoot, type PhotoName } from '../../../../test/fixtures/index.ts';
import { convertLayersModel } from '../layers/convert.ts';
import { locateNsfwjs, readNsfwjsModel, type NsfwjsModel } from './nsfwjs.ts';

const LABELS = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'];

/** The photo as the manifest describes it: fill-resized RGB, [0, 1] floats, NHWC. Built once, fed to both. */
async function inputTensor(photo: PhotoName, size: number): Promise<Float32Array> {
  const raw = await sharp(photos[photo])
    .removeAlpha()
    .resize(size, size, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  return Float32Array.from(raw, (v) => v / 255);
}

const argmax = (v: ArrayLike<number>): number =>
  Array.from(v).reduce((best, x, i, a) => (x > a[best]! ? i : best), 0);

interface Case {
  model: NsfwjsModel;
  size: number;
  photos: readonly PhotoName[];
  /** Loads the TF.js original. */
  reference: () => Promise<tf.LayersModel>;
}

const pkg = locateNsfwjs(repoRoot);

const CASES: Case[] = [
  {
    model: 'mobilenet_v2',
    size: 224,
    photos: photoNames,
    // Through nsfwjs itself: its own bundle loading, base64 decoding and TF.js's weight dequantization.
    reference: async () => (await nsfwjs.load('MobileNetV2')).model as tf.LayersModel,
  },
  {
    model: 'inception_v3',
    size: 299,
    // InceptionV3 takes ~20 s per image on the pure-JS backend: two photos.
    photos: ['chelsea', 'rocket'],
    // nsfwjs.load would first run a warm-up prediction (another ~20 s): load the same artifacts into TF.js
    // directly. TF.js still does its own dequantization and layer maths.
    reference: () => {
      const { modelTopology, weightSpecs, weightData } = readNsfwjsModel(pkg.modelDir('inception_v3'));
      return tf.loadLayersModel(
        tf.io.fromMemory({
          modelTopology: modelTopology as object,
          weightSpecs: weightSpecs as tf.io.WeightsManifestEntry[],
          weightData: weightData.slice().buffer,
        }),
      );
    },
  },
];

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe.each(CASES)('nsfwjs $model', ({ model, size, photos: names, reference }) => {
  let session: ort.InferenceSession;
  let original: tf.LayersModel;
  let bytes: Uint8Array;

  beforeAll(async () => {
    const converted = convertLayersModel(readNsfwjsModel(pkg.modelDir(model)), {
      outputName: 'probabilities',
    });
    bytes = converted.bytes;
    expect(converted.input).toEqual({ name: 'input', dims: ['batch', size, size, 3], layout: 'NHWC' });
    expect(converted.output).toEqual({ name: 'probabilities', dims: ['batch', 5] });
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    original = await reference();
  });

  afterAll(async () => {
    await session?.release();
    original?.dispose();
  });

  it('converts to identical bytes every time', () => {
    const again = convertLayersModel(readNsfwjsModel(pkg.modelDir(model)), {
      outputName: 'probabilities',
    }).bytes;
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    expect(sha(again)).toBe(sha(bytes));
  });

  it.each(names.map((n) => [n]))('agrees with TF.js on %s', async (photo) => {
    const x = await inputTensor(photo, size);
    const expected = tf.tidy(() =>
      (original.predict(tf.tensor4d(x, [1, size, size, 3])) as tf.Tensor).dataSync(),
    );
    const out = await session.run({ input: new ort.Tensor('float32', x, [1, size, size, 3]) });
    const actual = out.probabilities!.data as Float32Array;
    expect(actual.length).toBe(LABELS.length);
    const maxDiff = Math.max(...Array.from(actual, (v, i) => Math.abs(v - expected[i]!)));
    expect(maxDiff).toBeLessThan(1e-4);
    expect(LABELS[argmax(actual)]).toBe(LABELS[argmax(expected)]);
  });
});
