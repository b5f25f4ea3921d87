import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { LabelqError } from '@labelq/errors';
import { convertGraphModel } from './convert.ts';
import { halfToFloat, type LoadedGraphModel, type TfAttrValue, type TfNode } from './tfjs-model.ts';

// A small synthetic TF graph that exercises every op handler, run by TF.js (the reference) and by
// onnxruntime on our conversion. Odd spatial sizes make TF's SAME padding asymmetric.

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const ints = (...v: number[]): TfAttrValue => ({ list: { i: v.map(String) } });
const str = (s: string): TfAttrValue => ({ s: b64(s) });
const F: TfAttrValue = { type: 'DT_FLOAT' };

/** Deterministic pseudo-random values in [-1, 1). */
function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

interface Weight {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

function buildModel(): { model: LoadedGraphModel; weights: Weight[]; outputs: string[] } {
  const weights: Weight[] = [];
  const nodes: TfNode[] = [
    {
      name: 'x',
      op: 'Placeholder',
      attr: { dtype: F, shape: { shape: { dim: [1, 11, 13, 4].map((d) => ({ size: String(d) })) } } },
    },
  ];
  let seed = 1;
  const cf = (name: string, shape: number[], data?: number[]): string => {
    const n = shape.reduce((a, b) => a * b, 1);
    weights.push({ name, shape, dtype: 'float32', data: data ? Float32Array.from(data) : seeded(n, seed++) });
    nodes.push({ name, op: 'Const', attr: { dtype: F } });
    return name;
  };
  const ci = (name: string, shape: number[], data: number[]): string => {
    weights.push({ name, shape, dtype: 'int32', data: Int32Array.from(data) });
    nodes.push({ name, op: 'Const', attr: { dtype: { type: 'DT_INT32' } } });
    return name;
  };
  const op = (name: string, o: string, input: string[], attr: Record<string, TfAttrValue> = {}): string => {
    nodes.push({ name, op: o, input, attr: { T: F, ...attr } });
    return name;
  };
  const conv = { data_format: str('NHWC'), dilations: ints(1, 1, 1, 1) };
  op('c1', '_FusedConv2D', ['x', cf('w1', [3, 3, 4, 8]), cf('b1', [8])], {
    ...conv,
    strides: ints(1, 2, 2, 1),
    padding: str('SAME'),
    fused_ops: { list: { s: [b64('BiasAdd'), b64('LeakyRelu')] } },
    leakyrelu_alpha: { f: 0.1 },
    num_args: { i: '1' },
  });
  op('d1', 'FusedDepthwiseConv2dNative', ['c1', cf('w2', [3, 3, 8, 2]), cf('b2', [16])], {
    ...conv,
    strides: ints(1, 1, 1, 1),
    padding: str('SAME'),
    // TF.js ignores leakyrelu_alpha on fused depthwise convolutions (NaN), so this one uses Relu6.
    fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu6')] } },
    num_args: { i: '1' },
  });
  const pool = {
    ksize: ints(1, 3, 3, 1),
    strides: ints(1, 2, 2, 1),
    padding: str('SAME'),
    data_format: str('NHWC'),
  };
  op('p1', 'MaxPool', ['d1'], pool);
  op('a1', 'AvgPool', ['d1'], pool);
  op('cat', 'ConcatV2', ['p1', 'a1', ci('axis', [], [-1])], { N: { i: '2' } });
  const size = ci('size', [2], [6, 8]);
  op('rb', 'ResizeBilinear', ['cat', size], { align_corners: { b: false }, half_pixel_centers: { b: true } });
  op('rn', 'ResizeNearestNeighbor', ['cat', size], {
    align_corners: { b: false },
    half_pixel_centers: { b: false },
  });
  op('sum', 'AddV2', ['rb', 'rn']);
  op('half', 'Mul', ['sum', cf('k', [], [0.5])]);
  op('c2', 'Conv2D', ['half', cf('w3', [1, 1, 32, 6])], {
    ...conv,
    strides: ints(1, 1, 1, 1),
    padding: str('VALID'),
  });
  op('ba', 'BiasAdd', ['c2', cf('b3', [6])], { data_format: str('NHWC') });
  op('tr', 'Transpose', ['ba', ci('perm', [4], [0, 3, 1, 2])]);
  op('re', 'Reshape', ['tr', ci('shape', [3], [1, 6, -1])]);
  op('sm', 'Softmax', ['re']);
  op('sp', 'SplitV', ['ba', ci('sizes', [2], [2, -1]), ci('dim', [], [3])], { num_split: { i: '2' } });
  op('sig', 'Sigmoid', ['sp:1']);
  op('pad', 'Pad', ['x', ci('paddings', [4, 2], [0, 0, 1, 2, 0, 1, 0, 0])]);
  op('relu', 'Relu', ['pad']);
  op('mean', 'Mean', ['ba', ci('axes', [2], [1, 2])], { keep_dims: { b: false } });
  const bytes = Buffer.concat(weights.map((w) => Buffer.from(w.data.buffer)));
  const model: LoadedGraphModel = {
    json: {
      format: 'graph-model',
      modelTopology: { node: nodes, versions: {} },
      weightsManifest: [
        { paths: ['w.bin'], weights: weights.map(({ name, shape, dtype }) => ({ name, shape, dtype })) },
      ],
    },
    weightData: new Uint8Array(bytes),
  };
  return { model, weights, outputs: ['sm', 'sig', 'relu', 'mean', 'sp'] };
}

describe('convertGraphModel on a synthetic graph', () => {
  const { model, outputs } = buildModel();
  const input = seeded(11 * 13 * 4, 99).map((v) => v * 4);
  let reference: Float32Array[];

  beforeAll(async () => {
    await tf.setBackend('cpu');
    const artifacts = {
      modelTopology: model.json.modelTopology,
      weightSpecs: model.json.weightsManifest[0]?.weights,
      weightData: model.weightData.slice().buffer,
    };
    const graph = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
    const outs = graph.execute(tf.tensor(input, [1, 11, 13, 4]), outputs) as tf.Tensor[];
    reference = outs.map((t) => t.dataSync() as Float32Array);
    tf.dispose(outs);
  });

  for (const optimize of [true, false]) {
    it(`matches TF.js on every output (optimize: ${optimize})`, async () => {
      const converted = await convertGraphModel(model, { outputs, optimize });
      const session = await ort.InferenceSession.create(converted.onnx);
      const result = await session.run({ x: new ort.Tensor('float32', input, [1, 11, 13, 4]) });
      expect(converted.outputs.map((o) => o.name)).toEqual(outputs);
      outputs.forEach((name, k) => {
        const got = result[name]?.data as Float32Array;
        const want = reference[k] as Float32Array;
        expect(got.length, name).toBe(want.length);
        expect([...result[name]!.dims], name).toEqual(converted.outputs[k]?.shape);
        let max = 0;
        for (let i = 0; i < got.length; i++) max = Math.max(max, Math.abs((got[i] ?? 0) - (want[i] ?? 0)));
        expect(max, name).toBeLessThan(1e-5);
      });
      await session.release();
    });
  }

  it('cancels the layout transposes and fuses bias and padding', async () => {
    const { onnxOps } = await convertGraphModel(model, { outputs });
    // Conv/pool/resize are NHWC in TF; what stays are the graph's own Transpose and the layout changes at the
    // NHWC input and around the NCHW island.
    expect(onnxOps.Add ?? 0).toBe(1); // rb + rn; biases went into the Convs
    expect(onnxOps.Conv).toBe(3);
  });

  it('writes byte-identical files run to run', async () => {
    const a = await convertGraphModel(model, { outputs });
    const b = await convertGraphModel(buildModel().model, { outputs });
    expect(Buffer.compare(a.onnx, b.onnx)).toBe(0);
  });

  it('rejects an unsupported op with a coded error naming the op and the node', async () => {
    const bad = buildModel().model;
    bad.json.modelTopology.node.push({ name: 'weird/node', op: 'Cumsum', input: ['relu', 'axis'] });
    const error = await convertGraphModel(bad, { outputs: ['weird/node'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LabelqError);
    expect(error).toMatchObject({ code: 'model_unsupported', details: { op: 'Cumsum', node: 'weird/node' } });
    expect((error as Error).message).toContain("Cumsum node 'weird/node'");
  });

  it('rejects an unsupported fused activation with the node name', async () => {
    const bad = buildModel().model;
    const c1 = bad.json.modelTopology.node.find((n) => n.name === 'c1');
    c1!.attr!.fused_ops = { list: { s: [b64('BiasAdd'), b64('Gelu')] } };
    await expect(convertGraphModel(bad, { outputs: ['relu', 'sm'] })).rejects.toMatchObject({
      code: 'model_unsupported',
      details: { node: 'c1' },
    });
  });
});

describe('halfToFloat', () => {
  it('widens float16 exactly', () => {
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x3555)).toBeCloseTo(0.333251953125, 12);
    expect(Number.isNaN(halfToFloat(0x7e00))).toBe(true);
  });
});
