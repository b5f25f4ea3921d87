import { float } from '../onnx/graph-builder.ts';
import type { KTensor, LayerCall } from './context.ts';

/** Converts one call of one Keras layer; returns its output tensors. */
export type LayerHandler = (call: LayerCall) => KTensor[];

type Dim = number | null;

// --- layout helpers ------------------------------------------------------------------------------------------

/** Keras axis (negative allowed) -> ONNX axis of the stored tensor (rank 4 is stored NCHW). */
export function onnxAxis(call: LayerCall, axis: number, rank: number, option: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a <= 0 || a >= rank)
    call.unsupported(option, `${option} = ${axis} is not supported for a rank-${rank} input`);
  return rank === 4 ? ([0, 2, 3, 1][a] as number) : a;
}

/** A rank-4 stored-NCHW value as NHWC (Keras order). */
function toNHWC(call: LayerCall, x: KTensor): string {
  return call.op('Transpose', [x.name], 'to_nhwc', { perm: [0, 2, 3, 1] });
}

/** A Keras-order (NHWC) rank-4 value back to the stored NCHW layout. */
function toNCHW(call: LayerCall, name: string): string {
  return call.op('Transpose', [name], 'to_nchw', { perm: [0, 3, 1, 2] });
}

function product(dims: readonly Dim[]): number | null {
  let p = 1;
  for (const d of dims) {
    if (d === null) return null;
    p *= d;
  }
  return p;
}

// --- activations ---------------------------------------------------------------------------------------------

const SELU_ALPHA = 1.6732632423543772;
const SELU_GAMMA = 1.0507009873554805;

/**
 * Applies a Keras activation by name (the `activation` option of Conv2D/Dense/Activation...). Channel-wise
 * softmax runs over the channel axis: the last Keras axis, axis 1 of a stored-NCHW tensor.
 */
export function activate(call: LayerCall, x: KTensor, activation: unknown, option = 'activation'): KTensor {
  if (activation === undefined || activation === null || activation === 'linear') return x;
  const rank = x.shape.length;
  const out = (name: string): KTensor => ({ name, shape: x.shape });
  switch (activation) {
    case 'relu':
      return out(call.op('Relu', [x.name], 'relu'));
    case 'relu6':
      return out(call.op('Clip', [x.name, call.state.floatScalar(0), call.state.floatScalar(6)], 'relu6'));
    case 'sigmoid':
      return out(call.op('Sigmoid', [x.name], 'sigmoid'));
    case 'hard_sigmoid':
      // Keras/TF.js: clip(0.2 * x + 0.5, 0, 1).
      return out(call.op('HardSigmoid', [x.name], 'hard_sigmoid', { alpha: float(0.2), beta: float(0.5) }));
    case 'tanh':
      return out(call.op('Tanh', [x.name], 'tanh'));
    case 'softmax':
      return out(call.op('Softmax', [x.name], 'softmax', { axis: rank === 4 ? 1 : rank - 1 }));
    case 'elu':
      return out(call.op('Elu', [x.name], 'elu', { alpha: float(1) }));
    case 'selu':
      return out(call.op('Selu', [x.name], 'selu', { alpha: float(SELU_ALPHA), gamma: float(SELU_GAMMA) }));
    case 'softplus':
      return out(call.op('Softplus', [x.name], 'softplus'));
    case 'softsign':
      return out(call.op('Softsign', [x.name], 'softsign'));
    case 'exponential':
      return out(call.op('Exp', [x.name], 'exp'));
    case 'swish':
    case 'silu': {
      const s = call.op('Sigmoid', [x.name], 'swish_sigmoid');
      return out(call.op('Mul', [x.name, s], 'swish'));
    }
    default:
      return call.unsupported(option, `activation ${JSON.stringify(activation)} is not supported`);
  }
}

// --- convolution and pooling geometry ------------------------------------------------------------------------

interface Geometry {
  /** ONNX attributes: explicit `pads`, or `auto_pad` when a spatial size is unknown. */
  attrs: Record<string, number[] | string>;
  outH: Dim;
  outW: Dim;
}

/**
 * TF's padding arithmetic for 'valid' and 'same' (extra padding goes after, like ONNX SAME_UPPER). Explicit pads
 * are written when the input size is known so the graph does not depend on auto_pad semantics.
 */
function geometry(
  call: LayerCall,
  inH: Dim,
  inW: Dim,
  kernel: [number, number],
  strides: [number, number],
  dilations: [number, number],
): Geometry {
  const padding = call.str('padding', 'valid');
  const eff = [0, 1].map((i) => (kernel[i]! - 1) * dilations[i]! + 1) as [number, number];
  const sizes = [inH, inW];
  if (padding === 'valid') {
    const out = sizes.map((n, i) => (n === null ? null : Math.floor((n - eff[i]!) / strides[i]!) + 1));
    if (out.some((n) => n !== null && n < 1)) {
      call.unsupported('padding', `the input ${inH}x${inW} is smaller than the ${eff[0]}x${eff[1]} window`);
    }
    return { attrs: { pads: [0, 0, 0, 0] }, outH: out[0]!, outW: out[1]! };
  }
  if (padding === 'same') {
    const out = sizes.map((n, i) => (n === null ? null : Math.ceil(n / strides[i]!)));
    if (inH === null || inW === null)
      return { attrs: { auto_pad: 'SAME_UPPER' }, outH: out[0]!, outW: out[1]! };
    const before: number[] = [];
    const after: number[] = [];
    sizes.forEach((n, i) => {
      const total = Math.max((out[i]! - 1) * strides[i]! + eff[i]! - n!, 0);
      before.push(Math.floor(total / 2));
      after.push(total - Math.floor(total / 2));
    });
    return { attrs: { pads: [...before, ...after] }, outH: out[0]!, outW: out[1]! };
  }
  return call.unsupported(
    'padding',
    `padding ${JSON.stringify(padding)} is not supported (only valid and same)`,
  );
}

/** Keras conv kernel [kh, kw, in, out] -> ONNX [out, in, kh, kw]. */
function convKernel(k: Float32Array, kh: number, kw: number, cin: number, cout: number): Float32Array {
  const w = new Float32Array(k.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++)
          w[((o * cin + i) * kh + y) * kw + x] = k[((y * kw + x) * cin + i) * cout + o]!;
  return w;
}

/** Keras depthwise kernel [kh, kw, in, mult] -> ONNX grouped-conv weight [in * mult, 1, kh, kw]. */
function depthwiseKernel(k: Float32Array, kh: number, kw: number, cin: number, mult: number): Float32Array {
  const w = new Float32Array(k.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let c = 0; c < cin; c++)
        for (let m = 0; m < mult; m++)
          w[((c * mult + m) * kh + y) * kw + x] = k[((y * kw + x) * cin + c) * mult + m]!;
  return w;
}

function channels(call: LayerCall, x: KTensor): number {
  call.requireRank(x, 4);
  const c = x.shape[3];
  if (typeof c !== 'number') call.unsupported('input_shape', 'the number of input channels is unknown');
  return c;
}

function conv2d(call: LayerCall): KTensor[] {
  call.requireChannelsLast();
  const x = call.input();
  const cin = channels(call, x);
  const filters = call.int('filters');
  const [kh, kw] = call.pair('kernel_size');
  const strides = call.pair('strides', [1, 1]);
  const dilations = call.pair('dilation_rate', [1, 1]);
  const groups = call.int('groups', 1);
  if (groups < 1 || cin % groups !== 0 || filters % groups !== 0) {
    call.unsupported(
      'groups',
      `groups = ${groups} does not divide ${cin} input channels and ${filters} filters`,
    );
  }
  if ((strides[0] > 1 || strides[1] > 1) && (dilations[0] > 1 || dilations[1] > 1)) {
    call.unsupported(
      'dilation_rate',
      'strides > 1 together with dilation_rate > 1 is not supported (nor by Keras)',
    );
  }
  const kernel = call.weight('kernel', [kh, kw, cin / groups, filters]);
  const geo = geometry(call, x.shape[1]!, x.shape[2]!, [kh, kw], strides, dilations);
  const inputs = [
    x.name,
    call.initializer('kernel', () => ({
      data: convKernel(kernel.values, kh, kw, cin / groups, filters),
      dims: [filters, cin / groups, kh, kw],
    })),
  ];
  if (call.bool('use_bias', true)) {
    const bias = call.weight('bias', [filters]);
    inputs.push(call.initializer('bias', () => ({ data: bias.values, dims: [filters] })));
  }
  const y = call.op('Conv', inputs, 'conv', {
    kernel_shape: [kh, kw],
    strides,
    dilations,
    group: groups,
    ...geo.attrs,
  });
  return [
    activate(call, { name: y, shape: [x.shape[0]!, geo.outH, geo.outW, filters] }, call.config.activation),
  ];
}

function depthwiseConv2d(call: LayerCall): KTensor[] {
  call.requireChannelsLast();
  const x = call.input();
  const cin = channels(call, x);
  const mult = call.int('depth_multiplier', 1);
  const [kh, kw] = call.pair('kernel_size');
  const strides = call.pair('strides', [1, 1]);
  const dilations = call.pair('dilation_rate', [1, 1]);
  const kernel = call.weight('depthwise_kernel', [kh, kw, cin, mult]);
  const geo = geometry(call, x.shape[1]!, x.shape[2]!, [kh, kw], strides, dilations);
  const cout = cin * mult;
  const inputs = [
    x.name,
    call.initializer('depthwise_kernel', () => ({
      data: depthwiseKernel(kernel.values, kh, kw, cin, mult),
      dims: [cout, 1, kh, kw],
    })),
  ];
  if (call.bool('use_bias', true)) {
    const bias = call.weight('bias', [cout]);
    inputs.push(call.initializer('bias', () => ({ data: bias.values, dims: [cout] })));
  }
  const y = call.op('Conv', inputs, 'depthwise', {
    kernel_shape: [kh, kw],
    strides,
    dilations,
    group: cin,
    ...geo.attrs,
  });
  return [
    activate(call, { name: y, shape: [x.shape[0]!, geo.outH, geo.outW, cout] }, call.config.activation),
  ];
}

function separableConv2d(call: LayerCall): KTensor[] {
  call.requireChannelsLast();
  const x = call.input();
  const cin = channels(call, x);
  const mult = call.int('depth_multiplier', 1);
  const filters = call.int('filters');
  const [kh, kw] = call.pair('kernel_size');
  const strides = call.pair('strides', [1, 1]);
  const dilations = call.pair('dilation_rate', [1, 1]);
  const dk = call.weight('depthwise_kernel', [kh, kw, cin, mult]);
  const pk = call.weight('pointwise_kernel', [1, 1, cin * mult, filters]);
  const geo = geometry(call, x.shape[1]!, x.shape[2]!, [kh, kw], strides, dilations);
  const mid = call.op(
    'Conv',
    [
      x.name,
      call.initializer('depthwise_kernel', () => ({
        data: depthwiseKernel(dk.values, kh, kw, cin, mult),
        dims: [cin * mult, 1, kh, kw],
      })),
    ],
    'depthwise',
    { kernel_shape: [kh, kw], strides, dilations, group: cin, ...geo.attrs },
  );
  const inputs = [
    mid,
    call.initializer('pointwise_kernel', () => ({
      data: convKernel(pk.values, 1, 1, cin * mult, filters),
      dims: [filters, cin * mult, 1, 1],
    })),
  ];
  if (call.bool('use_bias', true)) {
    const bias = call.weight('bias', [filters]);
    inputs.push(call.initializer('bias', () => ({ data: bias.values, dims: [filters] })));
  }
  const y = call.op('Conv', inputs, 'pointwise', {
    kernel_shape: [1, 1],
    strides: [1, 1],
    pads: [0, 0, 0, 0],
  });
  return [
    activate(call, { name: y, shape: [x.shape[0]!, geo.outH, geo.outW, filters] }, call.config.activation),
  ];
}

function pooling(opType: 'MaxPool' | 'AveragePool'): LayerHandler {
  return (call) => {
    call.requireChannelsLast();
    const x = call.input();
    const c = channels(call, x);
    const pool = call.pair('pool_size', [2, 2]);
    const strides = call.has('strides') ? call.pair('strides') : pool;
    const geo = geometry(call, x.shape[1]!, x.shape[2]!, pool, strides, [1, 1]);
    // AveragePool: count_include_pad 0 (the default) is TF's 'same' behaviour: padded cells are not counted.
    const y = call.op(opType, [x.name], opType === 'MaxPool' ? 'maxpool' : 'avgpool', {
      kernel_shape: pool,
      strides,
      ...geo.attrs,
    });
    return [{ name: y, shape: [x.shape[0]!, geo.outH, geo.outW, c] }];
  };
}

function globalPooling(opType: 'GlobalAveragePool' | 'GlobalMaxPool'): LayerHandler {
  return (call) => {
    call.requireChannelsLast();
    const x = call.input();
    const c = channels(call, x);
    const pooled = call.op(
      opType,
      [x.name],
      opType === 'GlobalMaxPool' ? 'global_maxpool' : 'global_avgpool',
    );
    if (call.bool('keepdims', false)) return [{ name: pooled, shape: [x.shape[0]!, 1, 1, c] }];
    return [{ name: call.op('Flatten', [pooled], 'flatten', { axis: 1 }), shape: [x.shape[0]!, c] }];
  };
}

// --- normalisation -------------------------------------------------------------------------------------------

function batchNormalization(call: LayerCall): KTensor[] {
  const x = call.input();
  const rank = x.shape.length;
  const axis = call.axis('axis', -1);
  if (axis !== -1 && axis !== rank - 1) {
    call.unsupported('axis', `axis = ${axis} is not supported (only the channel axis, -1)`);
  }
  const c = x.shape[rank - 1];
  if (typeof c !== 'number') call.unsupported('input_shape', 'the number of channels is unknown');
  const epsilon = call.num('epsilon', 1e-3);
  const mean = call.weight('moving_mean', [c]);
  const variance = call.weight('moving_variance', [c]);
  const gamma = call.bool('scale', true) ? call.weight('gamma', [c]).values : new Float32Array(c).fill(1);
  const beta = call.bool('center', true) ? call.weight('beta', [c]).values : new Float32Array(c);
  if (rank === 4 || rank === 2) {
    // Stored NCHW (or [N, C]): ONNX BatchNormalization normalises axis 1. ORT folds it into a preceding Conv.
    const y = call.op(
      'BatchNormalization',
      [
        x.name,
        call.initializer('gamma', () => ({ data: gamma, dims: [c] })),
        call.initializer('beta', () => ({ data: beta, dims: [c] })),
        call.initializer('moving_mean', () => ({ data: mean.values, dims: [c] })),
        call.initializer('moving_variance', () => ({ data: variance.values, dims: [c] })),
      ],
      'bn',
      { epsilon: float(epsilon) },
    );
    return [{ name: y, shape: x.shape }];
  }
  // Other ranks keep channels last: y = x * s + t with s = gamma / sqrt(var + eps), t = beta - mean * s.
  const s = new Float32Array(c);
  const t = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    s[i] = gamma[i]! / Math.sqrt(variance.values[i]! + epsilon);
    t[i] = beta[i]! - mean.values[i]! * s[i]!;
  }
  const scaled = call.op(
    'Mul',
    [x.name, call.initializer('bn_scale', () => ({ data: s, dims: [c] }))],
    'bn_mul',
  );
  const y = call.op('Add', [scaled, call.initializer('bn_shift', () => ({ data: t, dims: [c] }))], 'bn_add');
  return [{ name: y, shape: x.shape }];
}

// --- activation layers ---------------------------------------------------------------------------------------

function reluLayer(call: LayerCall): KTensor[] {
  const x = call.input();
  const maxValue = call.has('max_value') ? call.num('max_value') : null;
  const slope = call.num('negative_slope', 0);
  const threshold = call.num('threshold', 0);
  if (threshold !== 0) call.unsupported('threshold', `threshold = ${threshold} is not supported (only 0)`);
  if (slope === 0) {
    if (maxValue === null) return [{ name: call.op('Relu', [x.name], 'relu'), shape: x.shape }];
    const y = call.op(
      'Clip',
      [x.name, call.state.floatScalar(0), call.state.floatScalar(maxValue)],
      'relu_clip',
    );
    return [{ name: y, shape: x.shape }];
  }
  let y = call.op('LeakyRelu', [x.name], 'leaky_relu', { alpha: float(slope) });
  if (maxValue !== null) y = call.op('Min', [y, call.state.floatScalar(maxValue)], 'relu_max');
  return [{ name: y, shape: x.shape }];
}

function softmaxLayer(call: LayerCall): KTensor[] {
  const x = call.input();
  const axis = call.axis('axis', -1);
  const y = call.op('Softmax', [x.name], 'softmax', { axis: onnxAxis(call, axis, x.shape.length, 'axis') });
  return [{ name: y, shape: x.shape }];
}

// --- merging -------------------------------------------------------------------------------------------------

function merge(opType: 'Add' | 'Sub' | 'Mul' | 'Max' | 'Min' | 'Mean'): LayerHandler {
  return (call) => {
    const xs = call.inputs;
    if (xs.length < 2 || (opType === 'Sub' && xs.length !== 2)) {
      call.unsupported('inputs', `${xs.length} inputs are not supported`);
    }
    const rank = xs[0]!.shape.length;
    if (xs.some((x) => x.shape.length !== rank)) {
      call.unsupported('inputs', 'inputs of different ranks are not supported');
    }
    const suffix = opType.toLowerCase();
    let y: string;
    if (opType === 'Add' || opType === 'Mul') {
      // Binary chain: the common 2-input case maps to one Add/Mul, which ORT fuses (e.g. Conv + Add + Relu).
      y = xs[0]!.name;
      for (const x of xs.slice(1)) y = call.op(opType, [y, x.name], suffix);
    } else {
      y = call.op(
        opType,
        xs.map((x) => x.name),
        suffix,
      );
    }
    // Keras broadcasts size-1 dimensions: the output takes the first size that is not 1.
    const shape = xs[0]!.shape.map((_, i): Dim => {
      const dims = xs.map((x): Dim => x.shape[i] ?? null);
      return dims.find((d) => d !== null && d !== 1) ?? (dims.includes(null) ? null : 1);
    });
    return [{ name: y, shape }];
  };
}

function concatenate(call: LayerCall): KTensor[] {
  const xs = call.inputs;
  const rank = xs[0]!.shape.length;
  if (xs.some((x) => x.shape.length !== rank))
    call.unsupported('inputs', 'inputs of different ranks are not supported');
  const axis = call.axis('axis', -1);
  const onnx = onnxAxis(call, axis, rank, 'axis');
  const kerasAxis = axis < 0 ? axis + rank : axis;
  const y = call.op(
    'Concat',
    xs.map((x) => x.name),
    'concat',
    { axis: onnx },
  );
  const shape = xs[0]!.shape.map((d, i) =>
    i === kerasAxis
      ? xs.reduce<Dim>((acc, x) => (acc === null || x.shape[i] === null ? null : acc + x.shape[i]!), 0)
      : d,
  );
  return [{ name: y, shape }];
}

// --- shape layers --------------------------------------------------------------------------------------------

function zeroPadding2d(call: LayerCall): KTensor[] {
  call.requireChannelsLast();
  const x = call.input();
  call.requireRank(x, 4);
  const p = call.config.padding ?? 1;
  let top: number, bottom: number, left: number, right: number;
  const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  if (isInt(p)) {
    top = bottom = left = right = p;
  } else if (Array.isArray(p) && p.length === 2 && isInt(p[0]) && isInt(p[1])) {
    [top, bottom, left, right] = [p[0], p[0], p[1], p[1]];
  } else if (
    Array.isArray(p) &&
    p.length === 2 &&
    p.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every(isInt))
  ) {
    [[top, bottom], [left, right]] = p as [[number, number], [number, number]];
  } else {
    return call.unsupported('padding', `padding = ${JSON.stringify(p)} is not supported`);
  }
  const y = call.op('Pad', [x.name, call.state.int64Vector([0, 0, top, left, 0, 0, bottom, right])], 'pad', {
    mode: 'constant',
  });
  const [n, h, w, c] = x.shape;
  return [
    {
      name: y,
      shape: [n!, h === null ? null : h! + top + bottom, w === null ? null : w! + left + right, c!],
    },
  ];
}

function flatten(call: LayerCall): KTensor[] {
  call.requireChannelsLast();
  const x = call.input();
  const rank = x.shape.length;
  if (rank === 2) return [x];
  // Keras flattens in NHWC order. A 1x1 spatial map flattens the same either way: skip the transpose.
  const spatialIsOne = rank === 4 && x.shape[1] === 1 && x.shape[2] === 1;
  const source = rank === 4 && !spatialIsOne ? toNHWC(call, x) : x.name;
  const y = call.op('Flatten', [source], 'flatten', { axis: 1 });
  return [{ name: y, shape: [x.shape[0]!, product(x.shape.slice(1))] }];
}

function reshape(call: LayerCall): KTensor[] {
  const x = call.input();
  const target = call.config.target_shape;
  if (
    !Array.isArray(target) ||
    !target.every((d) => typeof d === 'number' && Number.isInteger(d) && (d > 0 || d === -1))
  ) {
    return call.unsupported('target_shape', `target_shape = ${JSON.stringify(target)} is not supported`);
  }
  const dims = target as number[];
  if (dims.filter((d) => d === -1).length > 1)
    call.unsupported('target_shape', 'more than one -1 in target_shape');
  const source = x.shape.length === 4 ? toNHWC(call, x) : x.name;
  // 0 copies the batch dimension from the input.
  let y = call.op('Reshape', [source, call.state.int64Vector([0, ...dims])], 'reshape');
  const known = product(x.shape.slice(1));
  const rest = dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const shape: Dim[] = [
    x.shape[0]!,
    ...dims.map((d) => (d === -1 ? (known === null ? null : known / rest) : d)),
  ];
  if (shape.length === 4) y = toNCHW(call, y);
  return [{ name: y, shape }];
}

// --- dense ---------------------------------------------------------------------------------------------------

function dense(call: LayerCall): KTensor[] {
  const x = call.input();
  const rank = x.shape.length;
  const units = call.int('units');
  const cin = x.shape[rank - 1];
  if (typeof cin !== 'number') call.unsupported('input_shape', 'the input size is unknown');
  const kernel = call.weight('kernel', [cin, units]);
  const w = call.initializer('kernel', () => ({ data: kernel.values, dims: [cin, units] }));
  const bias = call.bool('use_bias', true) ? call.weight('bias', [units]) : undefined;
  const b = bias ? call.initializer('bias', () => ({ data: bias.values, dims: [units] })) : undefined;
  let y: string;
  if (rank === 2) {
    y = call.op('Gemm', b ? [x.name, w, b] : [x.name, w], 'dense');
  } else {
    // Dense applies to the last Keras axis: go to Keras order for rank 4, multiply, and come back.
    const source = rank === 4 ? toNHWC(call, x) : x.name;
    y = call.op('MatMul', [source, w], 'matmul');
    if (b) y = call.op('Add', [y, b], 'bias_add');
    if (rank === 4) y = toNCHW(call, y);
  }
  return [activate(call, { name: y, shape: [...x.shape.slice(0, -1), units] }, call.config.activation)];
}

// --- identities ----------------------------------------------------------------------------------------------

/** Layers that only act while training (or are no-ops) pass their input through. */
function identity(call: LayerCall): KTensor[] {
  return [call.input()];
}

function activationLayer(call: LayerCall): KTensor[] {
  return [activate(call, call.input(), call.config.activation)];
}

function leakyRelu(call: LayerCall): KTensor[] {
  const x = call.input();
  // Keras' LeakyReLU default alpha is 0.3 (Keras 3 calls it negative_slope).
  const alpha = call.has('negative_slope') ? call.num('negative_slope') : call.num('alpha', 0.3);
  return [{ name: call.op('LeakyRelu', [x.name], 'leaky_relu', { alpha: float(alpha) }), shape: x.shape }];
}

function eluLayer(call: LayerCall): KTensor[] {
  const x = call.input();
  return [{ name: call.op('Elu', [x.name], 'elu', { alpha: float(call.num('alpha', 1)) }), shape: x.shape }];
}

/** Every Keras layer class the converter understands (InputLayer is handled by the converter itself). */
export const LAYER_HANDLERS: Readonly<Record<string, LayerHandler>> = {
  Conv2D: conv2d,
  Convolution2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: separableConv2d,
  SeparableConvolution2D: separableConv2d,
  BatchNormalization: batchNormalization,
  Activation: activationLayer,
  ReLU: reluLayer,
  LeakyReLU: leakyRelu,
  ELU: eluLayer,
  Softmax: softmaxLayer,
  ZeroPadding2D: zeroPadding2d,
  MaxPooling2D: pooling('MaxPool'),
  MaxPool2D: pooling('MaxPool'),
  AveragePooling2D: pooling('AveragePool'),
  AvgPool2D: pooling('AveragePool'),
  GlobalAveragePooling2D: globalPooling('GlobalAveragePool'),
  GlobalAvgPool2D: globalPooling('GlobalAveragePool'),
  GlobalMaxPooling2D: globalPooling('GlobalMaxPool'),
  GlobalMaxPool2D: globalPooling('GlobalMaxPool'),
  Add: merge('Add'),
  Subtract: merge('Sub'),
  Multiply: merge('Mul'),
  Average: merge('Mean'),
  Maximum: merge('Max'),
  Minimum: merge('Min'),
  Concatenate: concatenate,
  Dense: dense,
  Flatten: flatten,
  Reshape: reshape,
  Dropout: identity,
  SpatialDropout2D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  ActivityRegularization: identity,
};
