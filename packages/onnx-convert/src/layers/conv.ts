// Convolutions and pooling: Keras kernels (HWIO) become ONNX Conv weights (OIHW); 'same' padding is explicit.
import type { KTensor, LayerCall } from './context.ts';
import { activate } from './activations.ts';
import { channels, type Dim, type LayerHandler } from './layout.ts';

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

export function conv2d(call: LayerCall): KTensor[] {
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

export function depthwiseConv2d(call: LayerCall): KTensor[] {
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

export function separableConv2d(call: LayerCall): KTensor[] {
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

export function pooling(opType: 'MaxPool' | 'AveragePool'): LayerHandler {
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

export function globalPooling(opType: 'GlobalAveragePool' | 'GlobalMaxPool'): LayerHandler {
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
