import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertGraphModel } from './convert.ts';
import { exactHalfBits } from './half.ts';
import { halfToFloat, type LoadedGraphModel, type TfAttrValue, type TfNode } from './tfjs-model.ts';

// CenterNet's decoding pattern in miniature (max-pool peaks, top-k over a flat map, flat index -> row/col/class
// with FloorDiv/FloorMod, gather, strided slices), plus the float branches of FloorDiv/FloorMod and the
// StridedSlice masks, run by TF.js (the reference) and by onnxruntime on our conversion.

const F: TfAttrValue = { type: 'DT_FLOAT' };
const I: TfAttrValue = { type: 'DT_INT32' };
const ints = (...v: number[]): TfAttrValue => ({ list: { i: v.map(String) } });
const str = (s: string): TfAttrValue => ({ s: Buffer.from(s).toString('base64') });

function buildModel(): LoadedGraphModel {
  const weights: { name: string; shape: number[]; dtype: 'float32' | 'int32'; data: number[] }[] = [];
  const nodes: TfNode[] = [
    {
      name: 'x',
      op: 'Placeholder',
      attr: { dtype: F, shape: { shape: { dim: [1, 4, 5, 3].map((d) => ({ size: String(d) })) } } },
    },
  ];
  const c = (name: string, dtype: 'float32' | 'int32', shape: number[], data: number[]): string => {
    weights.push({ name, shape, dtype, data });
    nodes.push({ name, op: 'Const', attr: { dtype: dtype === 'float32' ? F : I } });
    return name;
  };
  const op = (name: string, o: string, input: string[], attr: Record<string, TfAttrValue> = {}): string => {
    nodes.push({ name, op: o, input, attr });
    return name;
  };
  op('pool', 'MaxPool', ['x'], {
    T: F,
    ksize: ints(1, 3, 3, 1),
    strides: ints(1, 1, 1, 1),
    padding: str('SAME'),
    data_format: str('NHWC'),
  });
  op('eq', 'Equal', ['x', 'pool'], { T: F });
  op('mask', 'Cast', ['eq'], { SrcT: { type: 'DT_BOOL' }, DstT: F });
  op('peaks', 'Mul', ['x', 'mask'], { T: F });
  op('flat', 'Reshape', ['peaks', c('flat/shape', 'int32', [2], [1, -1])], { T: F });
  op('top', 'TopKV2', ['flat', c('k', 'int32', [], [7])], { T: F, sorted: { b: true } });
  const three = c('three', 'int32', [], [3]);
  op('cell', 'FloorDiv', ['top:1', three], { T: I });
  op('cls', 'FloorMod', ['top:1', three], { T: I });
  op('row', 'FloorDiv', ['cell', c('five', 'int32', [], [5])], { T: I });
  op('shifted', 'Sub', ['cls', c('one', 'int32', [], [1])], { T: I });
  // Negative operands: floor, not truncation.
  op('negdiv', 'FloorDiv', ['shifted', c('two', 'int32', [], [2])], { T: I });
  op('negmod', 'FloorMod', ['shifted', c('two2', 'int32', [], [2])], { T: I });
  const toFloat = (name: string, from: string): string =>
    op(name, 'Cast', [op(`${name}/e`, 'ExpandDims', [from, c(`${name}/d`, 'int32', [], [-1])], { T: I })], {
      SrcT: I,
      DstT: F,
    });
  const cols = [
    op('score', 'ExpandDims', ['top', c('score/d', 'int32', [], [2])], { T: F }),
    toFloat('rowf', 'row'),
    toFloat('clsf', 'cls'),
    toFloat('negdivf', 'negdiv'),
    toFloat('negmodf', 'negmod'),
  ];
  op('rows', 'ConcatV2', [...cols, c('axis', 'int32', [], [2])], { T: F, N: { i: String(cols.length) } });
  // Gather per-cell values at the flat indices: [60, 1] params, [7] indices.
  op('table', 'Reshape', ['x', c('table/shape', 'int32', [2], [-1, 1])], { T: F });
  op('idx', 'Reshape', ['top:1', c('idx/shape', 'int32', [1], [-1])], { T: I });
  op('gathered', 'GatherV2', ['table', 'idx', c('gaxis', 'int32', [], [0])], {
    T: F,
    batch_dims: { i: '0' },
  });
  // StridedSlice: begin/end masks, a shrunk axis, a negative stride.
  const ss = (name: string, b: number[], e: number[], s: number[], attr: Record<string, number>) =>
    op(
      name,
      'StridedSlice',
      [
        'x',
        c(`${name}/b`, 'int32', [b.length], b),
        c(`${name}/e`, 'int32', [e.length], e),
        c(`${name}/s`, 'int32', [s.length], s),
      ],
      {
        T: F,
        Index: I,
        ...Object.fromEntries(
          ['begin_mask', 'end_mask', 'shrink_axis_mask', 'ellipsis_mask', 'new_axis_mask'].map((k) => [
            k,
            { i: String(attr[k] ?? 0) },
          ]),
        ),
      },
    );
  ss('slice_masks', [0, 1, 0, 1], [0, 3, 0, 3], [1, 1, 1, 1], { begin_mask: 5, end_mask: 5 });
  ss('slice_shrink', [0, 0, 0, 2], [0, 0, 0, 3], [1, 1, 1, 1], {
    begin_mask: 7,
    end_mask: 7,
    shrink_axis_mask: 8,
  });
  ss('slice_reverse', [0, -1, 0, 0], [0, 0, 0, 0], [1, -1, 2, 1], { begin_mask: 13, end_mask: 13 });
  // Float FloorDiv / FloorMod on negative values.
  const k = c('k15', 'float32', [], [-1.5]);
  op('fdiv', 'FloorDiv', ['x', k], { T: F });
  op('fmod', 'FloorMod', ['x', k], { T: F });
  const offsets: number[] = [];
  let at = 0;
  for (const w of weights) {
    offsets.push(at);
    at += w.data.length * 4;
  }
  const bytes = Buffer.concat(
    weights.map((w) => Buffer.from((w.dtype === 'float32' ? Float32Array : Int32Array).from(w.data).buffer)),
  );
  return {
    json: {
      format: 'graph-model',
      modelTopology: { node: nodes, versions: {} },
      weightsManifest: [
        { paths: ['w.bin'], weights: weights.map(({ name, shape, dtype }) => ({ name, shape, dtype })) },
      ],
    },
    weightData: new Uint8Array(bytes),
  };
}

const OUTPUTS = ['rows', 'gathered', 'slice_masks', 'slice_shrink', 'slice_reverse', 'fdiv', 'fmod'];

describe('integer, boolean and indexing ops', () => {
  const model = buildModel();
  // Distinct values (no top-k ties), negative and positive.
  const input = Float32Array.from({ length: 60 }, (_, i) => ((i * 37) % 61) / 7 - 4);
  let reference: Float32Array[];

  beforeAll(async () => {
    await tf.setBackend('cpu');
    const graph = await tf.loadGraphModel(
      tf.io.fromMemory({
        modelTopology: model.json.modelTopology,
        weightSpecs: model.json.weightsManifest[0]?.weights,
        weightData: model.weightData.slice().buffer,
      }),
    );
    const outs = graph.execute(tf.tensor(input, [1, 4, 5, 3]), OUTPUTS) as tf.Tensor[];
    reference = outs.map((t) => Float32Array.from(t.dataSync()));
    tf.dispose(outs);
  });

  it('match TF.js exactly on every output', async () => {
    const converted = await convertGraphModel(model, { outputs: OUTPUTS });
    const session = await ort.InferenceSession.create(converted.onnx);
    const result = await session.run({ x: new ort.Tensor('float32', input, [1, 4, 5, 3]) });
    OUTPUTS.forEach((name, k) => {
      const got = result[name]!;
      expect([...got.dims], name).toEqual(converted.outputs[k]?.shape);
      // -0 and 0 are the same value here (floor(-0.3) is -0 in one runtime, 0 in the other).
      const plain = (xs: ArrayLike<number>) => Array.from(xs, (v) => v + 0);
      expect(plain(got.data as Float32Array), name).toEqual(plain(reference[k]!));
    });
    expect(converted.outputs.find((o) => o.name === 'rows')?.shape).toEqual([1, 7, 5]);
    expect(converted.outputs.find((o) => o.name === 'slice_shrink')?.shape).toEqual([1, 4, 5]);
    await session.release();
  });

  it('refuses StridedSlice with new_axis_mask, naming the node', async () => {
    const bad = buildModel();
    const node = bad.json.modelTopology.node.find((n) => n.name === 'slice_masks')!;
    node.attr!.new_axis_mask = { i: '1' };
    await expect(convertGraphModel(bad, { outputs: ['slice_masks'] })).rejects.toMatchObject({
      code: 'model_unsupported',
      details: { node: 'slice_masks' },
    });
  });
});

describe('exactHalfBits', () => {
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [2 ** -24, 0x0001],
    [2 ** -14, 0x0400],
    [0.333251953125, 0x3555],
    [0, 0],
    [-Infinity, 0xfc00],
  ])('%d is exactly the half %i', (v, bits) => {
    expect(exactHalfBits(v)).toBe(bits);
    expect(halfToFloat(bits)).toBe(v);
  });

  it.each([[0.1], [1 / 3], [65520], [2 ** -25], [NaN], [1 + 2 ** -11]])('%d is not a half', (v) => {
    expect(exactHalfBits(v)).toBeUndefined();
  });

  it('round-trips every finite half value', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = halfToFloat(h);
      if (!Number.isFinite(v)) continue;
      const bits = exactHalfBits(v);
      expect(bits === h || (v === 0 && bits !== undefined), `0x${h.toString(16)}`).toBe(true);
    }
  });
});
