// Integer, boolean and indexing ops: what detection graphs use to find peaks and pick their top-k in-graph
// (CenterNet: Equal + Cast for the max-pool peak mask, TopKV2, FloorDiv/FloorMod to turn flat indices into
// (row, col, class), GatherV2 for the box sizes at those cells, StridedSlice to split them).
import { broadcastShapes, dyn, normAxis, type DType, type OpContext, type OpHandler } from './context.ts';

/** ONNX TensorProto element types for the `to` attribute of Cast. */
const ONNX_TYPE: Record<DType, number> = { float32: 1, int64: 7, bool: 9 };

/** TF dtypes we convert; int32 and int64 both become int64 (see {@link DType}). */
const TF_TYPE: Record<string, DType> = {
  DT_FLOAT: 'float32',
  DT_INT32: 'int64',
  DT_INT64: 'int64',
  DT_BOOL: 'bool',
};

function outShape(ctx: OpContext): number[] {
  try {
    return broadcastShapes(ctx.shape(0), ctx.shape(1));
  } catch (err) {
    return ctx.fail((err as Error).message);
  }
}

/** Casts value `name` to `to` unless it already is that type. */
export function castTo(ctx: OpContext, name: string, from: DType, to: DType, hint: string): string {
  return from === to ? name : ctx.emit('Cast', [name], { to: ONNX_TYPE[to] }, hint);
}

/** x mod y with the sign of y (TF FloorMod, Python %). */
function floorMod(ctx: OpContext, a: string, b: string, dtype: DType): string {
  const hint = `${ctx.node.name}/mod`;
  // ONNX Mod with fmod=0 is exactly floor-mod for integers; for floats ONNX requires fmod=1 (C fmod), so
  // compute a - floor(a / b) * b instead.
  if (dtype === 'int64') return ctx.emit('Mod', [a, b], { fmod: 0 }, hint);
  const q = ctx.emit('Floor', [ctx.emit('Div', [a, b], {}, `${hint}/div`)], {}, `${hint}/floor`);
  return ctx.emit('Sub', [a, ctx.emit('Mul', [q, b], {}, `${hint}/mul`)], {}, hint);
}

/** TF StridedSlice masks other than these two need a rank change we do not support. */
function stridedSlice(ctx: OpContext): ReturnType<OpHandler> {
  const shape = ctx.shape(0);
  const begin = ctx.ints(1);
  const end = ctx.ints(2);
  const strides = ctx.ints(3);
  const bit = (mask: string, i: number): boolean => ((ctx.attrInt(mask, 0) >> i) & 1) === 1;
  if (ctx.attrInt('ellipsis_mask', 0) !== 0 || ctx.attrInt('new_axis_mask', 0) !== 0) {
    ctx.fail('ellipsis_mask and new_axis_mask are not supported');
  }
  if (begin.length !== end.length || begin.length !== strides.length || begin.length > shape.length) {
    ctx.fail('begin, end and strides must have one entry per sliced axis');
  }
  const starts: number[] = [];
  const ends: number[] = [];
  const steps: number[] = [];
  const out: number[] = [];
  const shrink: number[] = [];
  // Far past any dimension: ONNX Slice clamps starts/ends to the axis.
  const FAR = 2 ** 31 - 1;
  for (let i = 0; i < shape.length; i++) {
    const dim = shape[i] ?? 1;
    if (i >= begin.length) {
      starts.push(0);
      ends.push(FAR);
      steps.push(1);
      out.push(dim);
      continue;
    }
    const step = strides[i] ?? 1;
    if (step === 0) ctx.fail('a stride of 0 is invalid');
    if (bit('shrink_axis_mask', i)) {
      const at = (begin[i] ?? 0) < 0 ? (begin[i] ?? 0) + dim : (begin[i] ?? 0);
      if (at < 0 || at >= dim) ctx.fail(`index ${begin[i]} is out of range for an axis of size ${dim}`);
      starts.push(at);
      ends.push(at + 1);
      steps.push(1);
      shrink.push(i);
      continue;
    }
    // Python slice semantics, as TF and ONNX both follow them.
    const clamp = (v: number): number => {
      const n = v < 0 ? v + dim : v;
      return step > 0 ? Math.min(Math.max(n, 0), dim) : Math.min(Math.max(n, -1), dim - 1);
    };
    const s = bit('begin_mask', i) ? (step > 0 ? 0 : dim - 1) : clamp(begin[i] ?? 0);
    const e = bit('end_mask', i) ? (step > 0 ? dim : -1) : clamp(end[i] ?? 0);
    const length = step > 0 ? Math.ceil((e - s) / step) : Math.ceil((s - e) / -step);
    starts.push(s);
    // A resolved end of -1 with a negative step means "before index 0": ONNX needs a far negative end for it.
    ends.push(e === -1 && step < 0 ? -FAR : e);
    steps.push(step);
    out.push(Math.max(0, length));
  }
  const name = ctx.node.name;
  const axes = shape.map((_, i) => i);
  let y = ctx.emit(
    'Slice',
    [
      ctx.dyn(0),
      ctx.graph.int64Const(`${name}/starts`, starts),
      ctx.graph.int64Const(`${name}/ends`, ends),
      ctx.graph.int64Const(`${name}/axes`, axes),
      ctx.graph.int64Const(`${name}/steps`, steps),
    ],
    {},
    shrink.length > 0 ? `${name}/slice` : name,
  );
  if (shrink.length > 0) {
    y = ctx.emit('Squeeze', [y, ctx.graph.int64Const(`${name}/shrink`, shrink)]);
  }
  return [dyn(y, out, ctx.dtype(0))];
}

export const INDEX_OPS: Record<string, OpHandler> = {
  Cast: (ctx) => {
    const dst = ctx.attr('DstT')?.type ?? '';
    const to = TF_TYPE[dst] ?? ctx.fail(`casts to ${dst} are not supported`);
    const from = ctx.dtype(0);
    if (from === to) return [ctx.input(0)];
    return [dyn(castTo(ctx, ctx.dyn(0), from, to, ctx.node.name), ctx.shape(0), to)];
  },
  Equal: (ctx) => [dyn(ctx.emit('Equal', [ctx.dyn(0), ctx.dyn(1)]), outShape(ctx), 'bool')],
  TopKV2: (ctx) => {
    const shape = ctx.shape(0);
    const k = ctx.ints(1)[0] ?? ctx.fail('k must be a scalar constant');
    const last = shape[shape.length - 1] ?? 0;
    if (k < 1 || k > last) ctx.fail(`k = ${k} is outside 1..${last}`);
    const out = [...shape.slice(0, -1), k];
    // TF returns the top k sorted, equal values in index order; ONNX TopK with sorted=1 does the same.
    const [values, indices] = ctx.graph.add(
      'TopK',
      [ctx.dyn(0), ctx.graph.int64Const(`${ctx.node.name}/k`, [k])],
      [ctx.node.name, `${ctx.node.name}:1`],
      { axis: -1, largest: 1, sorted: 1 },
      ctx.node.name,
    ) as [string, string];
    return [dyn(values, out, ctx.dtype(0)), dyn(indices, out, 'int64')];
  },
  ExpandDims: (ctx) => {
    const shape = ctx.shape(0);
    const axis = normAxis(ctx.ints(1)[0] ?? 0, shape.length + 1);
    if (axis < 0 || axis > shape.length) ctx.fail(`axis out of range for rank ${shape.length}`);
    const axes = ctx.graph.int64Const(`${ctx.node.name}/axes`, [axis]);
    const out = [...shape.slice(0, axis), 1, ...shape.slice(axis)];
    return [dyn(ctx.emit('Unsqueeze', [ctx.dyn(0), axes]), out, ctx.dtype(0))];
  },
  FloorMod: (ctx) => {
    const dtype = ctx.dtype(0);
    return [dyn(floorMod(ctx, ctx.dyn(0), ctx.dyn(1), dtype), outShape(ctx), dtype)];
  },
  FloorDiv: (ctx) => {
    const dtype = ctx.dtype(0);
    const a = ctx.dyn(0);
    const b = ctx.dyn(1);
    // ONNX integer Div truncates toward zero; subtracting the floor-mod first makes the division exact, so
    // truncation and flooring agree for negative operands too.
    const y =
      dtype === 'int64'
        ? ctx.emit('Div', [ctx.emit('Sub', [a, floorMod(ctx, a, b, dtype)], {}, `${ctx.node.name}/exact`), b])
        : ctx.emit('Floor', [ctx.emit('Div', [a, b], {}, `${ctx.node.name}/div`)]);
    return [dyn(y, outShape(ctx), dtype)];
  },
  GatherV2: (ctx) => {
    const params = ctx.shape(0);
    const indices = ctx.shape(1);
    if (ctx.attrInt('batch_dims', 0) !== 0) ctx.fail('batch_dims other than 0 is not supported');
    const axis = normAxis(ctx.ints(2)[0] ?? 0, params.length);
    const out = [...params.slice(0, axis), ...indices, ...params.slice(axis + 1)];
    return [dyn(ctx.emit('Gather', [ctx.dyn(0), ctx.dyn(1)], { axis }), out, ctx.dtype(0))];
  },
  StridedSlice: stridedSlice,
};
