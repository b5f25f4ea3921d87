import { broadcastShapes, dyn, normAxis, type OpContext, type OpHandler } from './context.ts';
import { TO_NCHW, TO_NHWC } from './ops-nn.ts';

const count = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

function binary(onnxOp: string): OpHandler {
  return (ctx) => {
    let shape: number[];
    try {
      shape = broadcastShapes(ctx.shape(0), ctx.shape(1));
    } catch (err) {
      return ctx.fail((err as Error).message);
    }
    return [dyn(ctx.emit(onnxOp, [ctx.dyn(0), ctx.dyn(1)]), shape, ctx.dtype(0))];
  };
}

/** TF paddings [[before, after] per axis] -> ONNX pads [all befores, all afters]. */
function pad(withValue: boolean): OpHandler {
  return (ctx) => {
    const shape = ctx.shape(0);
    const paddings = ctx.ints(1);
    if (paddings.length !== shape.length * 2) ctx.fail('paddings must be [rank, 2]');
    const before = shape.map((_, i) => paddings[i * 2] ?? 0);
    const after = shape.map((_, i) => paddings[i * 2 + 1] ?? 0);
    const inputs = [ctx.dyn(0), ctx.graph.int64Const(`${ctx.node.name}/pads`, [...before, ...after])];
    if (withValue) {
      const value = ctx.constInput(2).data[0] ?? 0;
      inputs.push(ctx.graph.floatConst(`${ctx.node.name}/value`, Float32Array.of(value), []));
    }
    const out = shape.map((d, i) => d + (before[i] ?? 0) + (after[i] ?? 0));
    return [dyn(ctx.emit('Pad', inputs, { mode: 'constant' }), out)];
  };
}

function split(
  ctx: OpContext,
  value: number,
  axisInput: number,
  sizes: number[] | undefined,
): ReturnType<OpHandler> {
  const shape = ctx.shape(value);
  const axis = normAxis(ctx.ints(axisInput)[0] ?? 0, shape.length);
  const dim = shape[axis] ?? 0;
  const n = ctx.attrInt('num_split');
  let parts = sizes ?? new Array<number>(n).fill(dim / n);
  const known = parts.filter((s) => s !== -1).reduce((a, b) => a + b, 0);
  parts = parts.map((s) => (s === -1 ? dim - known : s));
  if (
    parts.length !== n ||
    parts.some((p) => !Number.isInteger(p) || p < 0) ||
    parts.reduce((a, b) => a + b, 0) !== dim
  ) {
    ctx.fail(`cannot split axis of size ${dim} into [${parts.join(', ')}]`);
  }
  const splitSizes = ctx.graph.int64Const(`${ctx.node.name}/split`, parts);
  const outputs = ctx.graph.add(
    'Split',
    [ctx.dyn(value), splitSizes],
    parts.map((_, i) => (i === 0 ? ctx.node.name : `${ctx.node.name}:${i}`)),
    { axis },
    ctx.node.name,
  );
  return outputs.map((name, i) =>
    dyn(
      name,
      shape.map((d, k) => (k === axis ? (parts[i] ?? 0) : d)),
    ),
  );
}

/** TF image resizes are NHWC with [newH, newW]; ONNX Resize works on any layout given full sizes. */
function resize(mode: 'linear' | 'nearest'): OpHandler {
  return (ctx) => {
    if (ctx.shape(0).length !== 4) ctx.fail('expects a 4-D NHWC input');
    const [n, , , c] = ctx.shape(0) as [number, number, number, number];
    const [outH, outW] = ctx.ints(1) as [number, number];
    const alignCorners = ctx.attrBool('align_corners', false);
    const halfPixel = ctx.attrBool('half_pixel_centers', false);
    let ctm = 'asymmetric';
    if (alignCorners) ctm = 'align_corners';
    else if (halfPixel) ctm = mode === 'linear' ? 'half_pixel' : 'tf_half_pixel_for_nn';
    const attrs: Record<string, string | number> = { mode, coordinate_transformation_mode: ctm };
    // TF's nearest rounds down except with align_corners, where it rounds half up.
    if (mode === 'nearest') attrs.nearest_mode = alignCorners ? 'round_prefer_ceil' : 'floor';
    const x = ctx.emit('Transpose', [ctx.dyn(0)], { perm: TO_NCHW }, `${ctx.node.name}/to_nchw`);
    const sizes = ctx.graph.int64Const(`${ctx.node.name}/sizes`, [n, c, outH, outW]);
    const y = ctx.emit('Resize', [x, '', '', sizes], attrs);
    const out = ctx.emit('Transpose', [y], { perm: TO_NHWC }, `${ctx.node.name}/to_nhwc`);
    return [dyn(out, [n, outH, outW, c])];
  };
}

export const TENSOR_OPS: Record<string, OpHandler> = {
  Add: binary('Add'),
  AddV2: binary('Add'),
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  RealDiv: binary('Div'),
  Maximum: binary('Max'),
  Minimum: binary('Min'),
  Identity: (ctx) => [ctx.input(0)],
  Reshape: (ctx) => {
    const shape = ctx.shape(0);
    const target = ctx.ints(1);
    const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const out = target.map((d) => (d === -1 ? count(shape) / known : d));
    if (count(out) !== count(shape))
      ctx.fail(`cannot reshape [${shape.join(', ')}] to [${target.join(', ')}]`);
    const s = ctx.graph.int64Const(`${ctx.node.name}/shape`, target);
    return [dyn(ctx.emit('Reshape', [ctx.dyn(0), s]), out, ctx.dtype(0))];
  },
  Transpose: (ctx) => {
    const shape = ctx.shape(0);
    const perm = ctx.ints(1);
    if (perm.length !== shape.length) ctx.fail('perm length does not match the rank');
    return [
      dyn(
        ctx.emit('Transpose', [ctx.dyn(0)], { perm }),
        perm.map((p) => shape[p] ?? 0),
        ctx.dtype(0),
      ),
    ];
  },
  ConcatV2: (ctx) => {
    const n = ctx.inputs.length - 1;
    const rank = ctx.shape(0).length;
    const axis = normAxis(ctx.ints(n)[0] ?? 0, rank);
    const names: string[] = [];
    const out = [...ctx.shape(0)];
    out[axis] = 0;
    for (let i = 0; i < n; i++) {
      names.push(ctx.dyn(i));
      out[axis] = (out[axis] ?? 0) + (ctx.shape(i)[axis] ?? 0);
    }
    return [dyn(ctx.emit('Concat', names, { axis }), out, ctx.dtype(0))];
  },
  Pad: pad(false),
  PadV2: pad(true),
  SplitV: (ctx) => split(ctx, 0, 2, ctx.ints(1)),
  Split: (ctx) => split(ctx, 1, 0, undefined),
  Squeeze: (ctx) => {
    const shape = ctx.shape(0);
    let axes = (ctx.attr('squeeze_dims')?.list?.i ?? ctx.attr('axis')?.list?.i ?? []).map((a) =>
      normAxis(Number(a), shape.length),
    );
    if (axes.length === 0) axes = shape.flatMap((d, i) => (d === 1 ? [i] : []));
    const a = ctx.graph.int64Const(`${ctx.node.name}/axes`, axes);
    return [
      dyn(
        ctx.emit('Squeeze', [ctx.dyn(0), a]),
        shape.filter((_, i) => !axes.includes(i)),
        ctx.dtype(0),
      ),
    ];
  },
  Mean: (ctx) => {
    const shape = ctx.shape(0);
    const axes = ctx.ints(1).map((a) => normAxis(a, shape.length));
    const keep = ctx.attrBool('keep_dims', false);
    const out = keep
      ? shape.map((d, i) => (axes.includes(i) ? 1 : d))
      : shape.filter((_, i) => !axes.includes(i));
    return [dyn(ctx.emit('ReduceMean', [ctx.dyn(0)], { axes, keepdims: keep ? 1 : 0 }), out)];
  },
  ResizeBilinear: resize('linear'),
  ResizeNearestNeighbor: resize('nearest'),
};
