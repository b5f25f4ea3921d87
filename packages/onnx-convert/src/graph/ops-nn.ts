import { float, type AttributeValue } from '../onnx/graph-builder.ts';
import { dyn, type OpContext, type OpHandler, type Value } from './context.ts';

export const TO_NCHW = [0, 3, 1, 2];
export const TO_NHWC = [0, 2, 3, 1];

/** TF padding for one spatial axis: [begin, end] and the output size. */
function spatialPad(
  mode: string,
  size: number,
  kernel: number,
  stride: number,
  dilation: number,
  explicit: [number, number],
): { begin: number; end: number; out: number } {
  const span = (kernel - 1) * dilation + 1;
  if (mode === 'SAME') {
    // TF SAME: output ceil(size/stride); the odd pixel of padding goes at the end.
    const out = Math.ceil(size / stride);
    const total = Math.max((out - 1) * stride + span - size, 0);
    return { begin: Math.floor(total / 2), end: total - Math.floor(total / 2), out };
  }
  const [begin, end] = mode === 'EXPLICIT' ? explicit : [0, 0];
  return { begin, end, out: Math.floor((size + begin + end - span) / stride) + 1 };
}

interface Window {
  nchw: boolean;
  /** Input shape as NCHW. */
  n: number;
  c: number;
  h: number;
  w: number;
  strides: [number, number];
  dilations: [number, number];
  pads: number[];
  outH: number;
  outW: number;
}

function windowGeometry(ctx: OpContext, kh: number, kw: number, dilated: boolean): Window {
  const format = ctx.attrString('data_format', 'NHWC');
  if (format !== 'NHWC' && format !== 'NCHW') ctx.fail(`data_format ${format} is not supported`);
  const nchw = format === 'NCHW';
  const shape = ctx.shape(0);
  if (shape.length !== 4) ctx.fail(`expects a 4-D input, got [${shape.join(', ')}]`);
  const [n, c, h, w] = (nchw ? shape : [shape[0], shape[3], shape[1], shape[2]]) as number[] as [
    number,
    number,
    number,
    number,
  ];
  const pick = (list: number[]): [number, number] =>
    nchw ? [list[2] ?? 1, list[3] ?? 1] : [list[1] ?? 1, list[2] ?? 1];
  const strides = pick(ctx.attrInts('strides', [1, 1, 1, 1]));
  const dilations = dilated ? pick(ctx.attrInts('dilations', [1, 1, 1, 1])) : ([1, 1] as [number, number]);
  const mode = ctx.attrString('padding');
  if (mode !== 'SAME' && mode !== 'VALID' && mode !== 'EXPLICIT')
    ctx.fail(`padding ${mode} is not supported`);
  const explicit = ctx.attr('explicit_paddings')?.list?.i?.map(Number) ?? [];
  const ex = (axis: number): [number, number] => [explicit[axis * 2] ?? 0, explicit[axis * 2 + 1] ?? 0];
  const py = spatialPad(mode, h, kh, strides[0], dilations[0], ex(nchw ? 2 : 1));
  const px = spatialPad(mode, w, kw, strides[1], dilations[1], ex(nchw ? 3 : 2));
  return {
    nchw,
    n,
    c,
    h,
    w,
    strides,
    dilations,
    pads: [py.begin, px.begin, py.end, px.end],
    outH: py.out,
    outW: px.out,
  };
}

/** The NCHW ONNX input for a TF window op (a Transpose when the TF op is NHWC; later passes cancel pairs). */
function nchwInput(ctx: OpContext, g: Window): string {
  return g.nchw
    ? ctx.dyn(0)
    : ctx.emit('Transpose', [ctx.dyn(0)], { perm: TO_NCHW }, `${ctx.node.name}/to_nchw`);
}

/** Back to the TF op's layout. */
function fromNchw(ctx: OpContext, g: Window, y: string, channels: number): Value {
  if (g.nchw) return dyn(y, [g.n, channels, g.outH, g.outW]);
  const out = ctx.emit('Transpose', [y], { perm: TO_NHWC }, `${ctx.node.name}/to_nhwc`);
  return dyn(out, [g.n, g.outH, g.outW, channels]);
}

/** Activation applied to an NCHW value (fused ops); `args` are the fused op's extra inputs. */
function activation(ctx: OpContext, kind: string, x: string, channels: number, argIndex: number): string {
  switch (kind) {
    case 'Relu':
      return ctx.emit('Relu', [x], {}, `${ctx.node.name}/relu`);
    case 'Relu6':
      return relu6(ctx, x);
    case 'LeakyRelu':
      return ctx.emit('LeakyRelu', [x], { alpha: float(ctx.attrFloat('leakyrelu_alpha', 0.2)) });
    case 'Sigmoid':
      return ctx.emit('Sigmoid', [x]);
    case 'Tanh':
      return ctx.emit('Tanh', [x]);
    case 'Elu':
      return ctx.emit('Elu', [x], { alpha: float(1) });
    case 'Prelu': {
      const alpha = ctx.constInput(argIndex);
      if (alpha.data.length !== channels) ctx.fail(`Prelu alpha must have one value per channel`);
      const slope = ctx.graph.floatConst(`${ctx.node.name}/alpha`, Float32Array.from(alpha.data), [
        channels,
        1,
        1,
      ]);
      return ctx.emit('PRelu', [x, slope]);
    }
    default:
      return ctx.fail(`fused op ${kind} is not supported`);
  }
}

function relu6(ctx: OpContext, x: string): string {
  const lo = ctx.graph.floatConst(`${ctx.node.name}/min`, Float32Array.of(0), []);
  const hi = ctx.graph.floatConst(`${ctx.node.name}/max`, Float32Array.of(6), []);
  return ctx.emit('Clip', [x, lo, hi]);
}

/**
 * Conv2D, DepthwiseConv2dNative and their grappler-fused forms (`fused_ops`: BiasAdd then an optional
 * activation). TF filters are HWIO (depthwise: HW, in, multiplier); ONNX wants OIHW (depthwise: group = in).
 */
function convolution(depthwise: boolean, fused: boolean): OpHandler {
  return (ctx) => {
    const filter = ctx.constInput(1);
    if (filter.shape.length !== 4) ctx.fail('expects a constant 4-D filter');
    const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
    const g = windowGeometry(ctx, kh, kw, true);
    const outC = depthwise ? ci * co : co;
    const group = depthwise ? ci : g.c / ci;
    if (!Number.isInteger(group) || group < 1)
      ctx.fail(`input channels ${g.c} do not match filter [${filter.shape.join(', ')}]`);
    const weights = new Float32Array(outC * (depthwise ? 1 : ci) * kh * kw);
    for (let y = 0; y < kh; y++) {
      for (let x = 0; x < kw; x++) {
        for (let i = 0; i < ci; i++) {
          for (let o = 0; o < co; o++) {
            const src = ((y * kw + x) * ci + i) * co + o;
            // Depthwise output channel i*mult+o has a single input channel.
            const dst = depthwise ? ((i * co + o) * kh + y) * kw + x : ((o * ci + i) * kh + y) * kw + x;
            weights[dst] = filter.data[src] ?? 0;
          }
        }
      }
    }
    const w = ctx.graph.floatConst(`${ctx.node.name}/weights`, weights, [outC, depthwise ? 1 : ci, kh, kw]);
    const inputs = [nchwInput(ctx, g), w];
    const ops = fused ? ctx.attrStrings('fused_ops') : [];
    let argIndex = 2;
    if (ops[0] === 'BiasAdd') {
      const bias = ctx.constInput(argIndex++);
      if (bias.data.length !== outC) ctx.fail('bias size does not match the output channels');
      inputs.push(ctx.graph.floatConst(`${ctx.node.name}/bias`, Float32Array.from(bias.data), [outC]));
      ops.shift();
    }
    let y = ctx.emit('Conv', inputs, {
      kernel_shape: [kh, kw],
      strides: g.strides,
      dilations: g.dilations,
      pads: g.pads,
      group,
    });
    for (const op of ops) y = activation(ctx, op, y, outC, argIndex);
    return [fromNchw(ctx, g, y, outC)];
  };
}

function pool(onnxOp: 'MaxPool' | 'AveragePool'): OpHandler {
  return (ctx) => {
    const ksize = ctx.attrInts('ksize');
    const format = ctx.attrString('data_format', 'NHWC');
    const [kh, kw] = format === 'NCHW' ? [ksize[2] ?? 1, ksize[3] ?? 1] : [ksize[1] ?? 1, ksize[2] ?? 1];
    const g = windowGeometry(ctx, kh, kw, false);
    // TF's SAME average ignores the padded cells: ONNX count_include_pad = 0 (its default) matches.
    const y = ctx.emit(onnxOp, [nchwInput(ctx, g)], {
      kernel_shape: [kh, kw],
      strides: g.strides,
      pads: g.pads,
    });
    return [fromNchw(ctx, g, y, g.c)];
  };
}

function unary(
  onnxOp: string,
  attrs: (ctx: OpContext) => Record<string, AttributeValue> = () => ({}),
): OpHandler {
  return (ctx) => [dyn(ctx.emit(onnxOp, [ctx.dyn(0)], attrs(ctx)), ctx.shape(0))];
}

export const NN_OPS: Record<string, OpHandler> = {
  Conv2D: convolution(false, false),
  DepthwiseConv2dNative: convolution(true, false),
  _FusedConv2D: convolution(false, true),
  FusedDepthwiseConv2dNative: convolution(true, true),
  MaxPool: pool('MaxPool'),
  AvgPool: pool('AveragePool'),
  Relu: unary('Relu'),
  Sigmoid: unary('Sigmoid'),
  Tanh: unary('Tanh'),
  Elu: unary('Elu', () => ({ alpha: float(1) })),
  LeakyRelu: unary('LeakyRelu', (ctx) => ({ alpha: float(ctx.attrFloat('alpha', 0.2)) })),
  Relu6: (ctx) => [dyn(relu6(ctx, ctx.dyn(0)), ctx.shape(0))],
  // TF softmax is over the last axis; opset 13 Softmax is per-axis (not flattened), so axis -1 matches.
  Softmax: unary('Softmax', () => ({ axis: -1 })),
  BiasAdd: (ctx) => {
    const shape = ctx.shape(0);
    const nchw = ctx.attrString('data_format', 'NHWC') === 'NCHW';
    const bias = ctx.constInput(1);
    const dims = nchw
      ? [bias.data.length, ...new Array<number>(shape.length - 2).fill(1)]
      : [bias.data.length];
    const b = ctx.graph.floatConst(`${ctx.node.name}/bias`, Float32Array.from(bias.data), dims);
    return [dyn(ctx.emit('Add', [ctx.dyn(0), b]), shape)];
  },
};
