// Normalisation, merging, shape and dense layers, and the training-only layers that pass through.
import { float } from '../onnx/graph-builder.ts';
import type { KTensor, LayerCall } from './context.ts';
import { activate } from './activations.ts';
import { onnxAxis, product, toNCHW, toNHWC, type Dim, type LayerHandler } from './layout.ts';

// --- normalisation -------------------------------------------------------------------------------------------

export function batchNormalization(call: LayerCall): KTensor[] {
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

// --- merging -------------------------------------------------------------------------------------------------

export function merge(opType: 'Add' | 'Sub' | 'Mul' | 'Max' | 'Min' | 'Mean'): LayerHandler {
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

export function concatenate(call: LayerCall): KTensor[] {
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

export function zeroPadding2d(call: LayerCall): KTensor[] {
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

export function flatten(call: LayerCall): KTensor[] {
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

export function reshape(call: LayerCall): KTensor[] {
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

export function dense(call: LayerCall): KTensor[] {
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
export function identity(call: LayerCall): KTensor[] {
  return [call.input()];
}
