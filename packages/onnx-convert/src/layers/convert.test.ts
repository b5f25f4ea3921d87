// The layers converter against TF.js itself: small Keras models built with @tensorflow/tfjs (random weights),
// saved to artifacts, converted, and run in onnxruntime on the same inputs. Covers the layer semantics the NSFW
// models do not exercise (asymmetric 'same' padding, Flatten over a spatial map, Dense on rank 3/4, Reshape,
// merges, Sequential, NCHW input) and the error paths.
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { LabelqError } from '@labelq/errors';
import { ModelConversionError, UnsupportedLayerError } from '../errors.ts';
import { convertLayersModel, type ConvertLayersOptions } from './convert.ts';
import type { LayersModelArtifacts, WeightSpec } from './weights.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Deterministic uniform [0, 1) numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Replaces every weight with seeded random values (variances positive) so no layer is a no-op. */
function randomizeWeights(model: tf.LayersModel, seed = 1): void {
  const next = rng(seed);
  model.setWeights(
    model.weights.map((w) => {
      const shape = w.shape as number[];
      const size = shape.reduce((a, b) => a * b, 1);
      const positive = w.name.endsWith('moving_variance');
      const values = Float32Array.from({ length: size }, () => (positive ? 0.5 + next() : next() * 2 - 1));
      return tf.tensor(values, shape);
    }),
  );
}

async function artifactsOf(model: tf.LayersModel): Promise<LayersModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler((artifacts) => {
      saved = artifacts;
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } });
    }),
  );
  const data = saved!.weightData!;
  const buffers = Array.isArray(data) ? data : [data];
  const weightData = new Uint8Array(buffers.reduce((n, b) => n + b.byteLength, 0));
  let offset = 0;
  for (const b of buffers) {
    weightData.set(new Uint8Array(b), offset);
    offset += b.byteLength;
  }
  return {
    modelTopology: saved!.modelTopology,
    weightSpecs: saved!.weightSpecs as WeightSpec[],
    weightData,
  };
}

function randomInput(shape: number[], seed = 7): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => next() * 2 - 1);
}

/** NHWC -> NCHW for a [n, h, w, c] buffer. */
function toNCHW(x: Float32Array, [n, h, w, c]: number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n!; b++)
    for (let y = 0; y < h!; y++)
      for (let i = 0; i < w!; i++)
        for (let k = 0; k < c!; k++)
          out[((b * c! + k) * h! + y) * w! + i] = x[((b * h! + y) * w! + i) * c! + k]!;
  return out;
}

/** Converts `model`, runs both on a batch of 2 and returns the largest absolute difference. */
async function maxDifference(model: tf.LayersModel, options: ConvertLayersOptions = {}): Promise<number> {
  const converted = convertLayersModel(await artifactsOf(model), options);
  const shape = [2, ...(model.inputs[0]!.shape.slice(1) as number[])];
  const x = randomInput(shape);
  const expected = (model.predict(tf.tensor(x, shape)) as tf.Tensor).dataSync();
  const session = await ort.InferenceSession.create(converted.bytes);
  const feed =
    options.inputLayout === 'NCHW' && shape.length === 4
      ? new ort.Tensor('float32', toNCHW(x, shape), [shape[0]!, shape[3]!, shape[1]!, shape[2]!])
      : new ort.Tensor('float32', x, shape);
  const outputs = await session.run({ [converted.input.name]: feed });
  const actual = outputs[converted.output.name]!;
  expect(actual.dims).toEqual(model.outputs[0]!.shape.map((d) => d ?? 2));
  const values = actual.data as Float32Array;
  expect(values.length).toBe(expected.length);
  let max = 0;
  for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]! - expected[i]!));
  await session.release();
  return max;
}

const sym = (t: tf.SymbolicTensor | tf.SymbolicTensor[] | tf.Tensor | tf.Tensor[]): tf.SymbolicTensor =>
  t as tf.SymbolicTensor;

/** Odd sizes so that 'same' padding is asymmetric; every conv/pool flavour; Flatten over a 3x3 map. */
function convModel(): tf.LayersModel {
  const input = tf.input({ shape: [9, 11, 3] });
  let x = sym(
    tf.layers
      .zeroPadding2d({
        padding: [
          [1, 2],
          [0, 1],
        ],
      })
      .apply(input),
  ); // 12x12
  x = sym(
    tf.layers
      .conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu6' })
      .apply(x),
  );
  x = sym(
    tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', useBias: true }).apply(x),
  );
  x = sym(tf.layers.batchNormalization().apply(x));
  x = sym(tf.layers.reLU({ maxValue: 6 }).apply(x));
  x = sym(
    tf.layers.separableConv2d({ filters: 5, kernelSize: 3, dilationRate: 2, padding: 'same' }).apply(x),
  );
  x = sym(tf.layers.leakyReLU({ alpha: 0.2 }).apply(x));
  const valid = sym(
    tf.layers.conv2d({ filters: 3, kernelSize: [2, 3], strides: [1, 2], useBias: false }).apply(x),
  );
  const maxPool = sym(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x));
  const avgPool = sym(tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x));
  const joined = sym(tf.layers.concatenate({ axis: -1 }).apply([maxPool, avgPool]));
  const flat = sym(tf.layers.flatten().apply(joined));
  const flatValid = sym(tf.layers.flatten().apply(valid));
  const both = sym(tf.layers.concatenate().apply([flat, flatValid]));
  const out = sym(tf.layers.dense({ units: 7, activation: 'softmax' }).apply(both));
  const model = tf.model({ inputs: input, outputs: out });
  randomizeWeights(model);
  return model;
}

describe('convertLayersModel agrees with TF.js', () => {
  it('convolutions, padding, pooling, batch norm, flatten, dense (functional model)', async () => {
    expect(await maxDifference(convModel())).toBeLessThan(1e-5);
  });

  it('the same model with an NCHW input', async () => {
    expect(await maxDifference(convModel(), { inputLayout: 'NCHW' })).toBeLessThan(1e-5);
  });

  it('merges, activations, global pooling, reshape and Dense on rank 3', async () => {
    const input = tf.input({ shape: [5, 5, 4] });
    const a = sym(tf.layers.conv2d({ filters: 4, kernelSize: 1, activation: 'tanh' }).apply(input));
    const b = sym(
      tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'sigmoid' }).apply(input),
    );
    const sum = sym(tf.layers.add().apply([a, b, input]));
    const prod = sym(tf.layers.multiply().apply([sum, a]));
    const max = sym(tf.layers.maximum().apply([prod, a]));
    const min = sym(tf.layers.minimum().apply([max, b]));
    const avg = sym(tf.layers.average().apply([min, sum]));
    let x = sym(tf.layers.activation({ activation: 'softplus' }).apply(avg));
    x = sym(tf.layers.activation({ activation: 'selu' }).apply(x));
    x = sym(tf.layers.elu().apply(x));
    x = sym(tf.layers.activation({ activation: 'softsign' }).apply(x));
    x = sym(tf.layers.activation({ activation: 'hardSigmoid' }).apply(x));
    x = sym(tf.layers.activation({ activation: 'swish' }).apply(x));
    x = sym(tf.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'elu' }).apply(x));
    const gap = sym(tf.layers.globalAveragePooling2d({}).apply(x));
    const gmp = sym(tf.layers.globalMaxPooling2d({}).apply(x));
    let y = sym(tf.layers.concatenate().apply([gap, gmp]));
    y = sym(tf.layers.dense({ units: 6, activation: 'relu' }).apply(y));
    y = sym(tf.layers.reshape({ targetShape: [2, 3] }).apply(y));
    y = sym(tf.layers.dense({ units: 4 }).apply(y));
    y = sym(tf.layers.softmax({ axis: -1 }).apply(y));
    y = sym(tf.layers.flatten().apply(y));
    const model = tf.model({ inputs: input, outputs: y });
    randomizeWeights(model, 3);
    expect(await maxDifference(model)).toBeLessThan(1e-5);
  });

  it('Dense on rank 4, Reshape to rank 4, channel softmax, rank-4 output', async () => {
    const input = tf.input({ shape: [4, 4, 2] });
    let x = sym(tf.layers.dense({ units: 3 }).apply(input)); // 4x4x3
    x = sym(tf.layers.reshape({ targetShape: [8, 2, 3] }).apply(x));
    x = sym(tf.layers.conv2d({ filters: 5, kernelSize: [3, 1], padding: 'same' }).apply(x));
    x = sym(tf.layers.softmax({ axis: -1 }).apply(x));
    const model = tf.model({ inputs: input, outputs: x });
    randomizeWeights(model, 5);
    expect(await maxDifference(model)).toBeLessThan(1e-5);
  });

  it('a Sequential model', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 3, kernelSize: 3, activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.dropout({ rate: 0.5 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2, activation: 'softmax' }),
      ],
    });
    randomizeWeights(model, 9);
    expect(await maxDifference(model)).toBeLessThan(1e-5);
  });
});

describe('convertLayersModel output', () => {
  it('is byte-identical run to run', async () => {
    const artifacts = await artifactsOf(convModel());
    const hash = () => createHash('sha256').update(convertLayersModel(artifacts).bytes).digest('hex');
    expect(hash()).toBe(hash());
  });

  it('names the input and output, with a dynamic batch', async () => {
    const converted = convertLayersModel(await artifactsOf(convModel()), { outputName: 'probabilities' });
    expect(converted.input).toEqual({ name: 'input', dims: ['batch', 9, 11, 3], layout: 'NHWC' });
    expect(converted.output).toEqual({ name: 'probabilities', dims: ['batch', 7] });
  });
});

interface LayerJson {
  class_name: string;
  name: string;
  config: Record<string, unknown>;
}

describe('convertLayersModel errors', () => {
  /** The conv model's artifacts with one layer's JSON changed. */
  async function withLayer(find: (layer: LayerJson) => boolean, edit: (layer: LayerJson) => void) {
    const artifacts = await artifactsOf(convModel());
    const topology = structuredClone(artifacts.modelTopology) as { config: { layers: LayerJson[] } };
    const layer = topology.config.layers.find(find)!;
    edit(layer);
    return { ...artifacts, modelTopology: topology, layerName: layer.name };
  }

  function caught(fn: () => unknown): unknown {
    try {
      fn();
    } catch (err) {
      return err;
    }
    throw new Error('expected an error');
  }

  it('rejects an unknown layer class, naming the class and the layer', async () => {
    const { layerName, ...artifacts } = await withLayer(
      (l) => l.class_name === 'LeakyReLU',
      (l) => {
        l.class_name = 'Lambda';
      },
    );
    const err = caught(() => convertLayersModel(artifacts));
    expect(err).toBeInstanceOf(UnsupportedLayerError);
    expect(err).toBeInstanceOf(LabelqError);
    const e = err as UnsupportedLayerError;
    expect(e.code).toBe('model_unsupported');
    expect(e.layerClass).toBe('Lambda');
    expect(e.layerName).toBe(layerName);
    expect(e.option).toBe('class_name');
    expect(e.message).toContain('Lambda');
    expect(e.message).toContain(layerName);
    expect(e.details).toEqual({ layerClass: 'Lambda', layerName, option: 'class_name' });
  });

  it('rejects an unsupported activation, naming the option', async () => {
    const { layerName, ...artifacts } = await withLayer(
      (l) => l.class_name === 'Conv2D',
      (l) => {
        l.config.activation = 'gelu_new';
      },
    );
    const e = caught(() => convertLayersModel(artifacts)) as UnsupportedLayerError;
    expect(e).toBeInstanceOf(UnsupportedLayerError);
    expect([e.layerClass, e.layerName, e.option]).toEqual(['Conv2D', layerName, 'activation']);
    expect(e.message).toMatch(/Conv2D layer ".+": activation "gelu_new" is not supported/);
  });

  it('rejects unsupported options: causal padding, channels_first, ReLU threshold', async () => {
    const cases: [string, (l: LayerJson) => void, string][] = [
      ['Conv2D', (l) => void (l.config.padding = 'causal'), 'padding'],
      ['MaxPooling2D', (l) => void (l.config.data_format = 'channels_first'), 'data_format'],
      ['ReLU', (l) => void (l.config.threshold = 0.5), 'threshold'],
    ];
    for (const [cls, edit, option] of cases) {
      const { layerName, ...artifacts } = await withLayer((l) => l.class_name === cls, edit);
      const e = caught(() => convertLayersModel(artifacts)) as UnsupportedLayerError;
      expect(e).toBeInstanceOf(UnsupportedLayerError);
      expect([e.layerClass, e.layerName, e.option]).toEqual([cls, layerName, option]);
    }
  });

  it('rejects missing and mis-shaped weights', async () => {
    const artifacts = await artifactsOf(convModel());
    const renamed = artifacts.weightSpecs.map((s, i) => (i === 0 ? { ...s, name: 'nope/kernel' } : s));
    const missing = caught(() => convertLayersModel({ ...artifacts, weightSpecs: renamed }));
    expect(missing).toBeInstanceOf(ModelConversionError);
    expect((missing as Error).message).toContain('is missing from the weights manifest');

    const { layerName, ...changed } = await withLayer(
      (l) => l.class_name === 'Dense',
      (l) => {
        l.config.units = 8;
      },
    );
    const shaped = caught(() => convertLayersModel(changed));
    expect(shaped).toBeInstanceOf(ModelConversionError);
    expect((shaped as Error).message).toContain(`${layerName}/kernel has shape`);
  });
});
