import { broadcastShapes, type OpContext } from './context.ts';
import type { ConstTensor } from './tfjs-model.ts';

/**
 * Evaluates a node whose inputs are all constants (exported graphs compute shapes this way, e.g. onnx-tf's
 * `SparseToDense` + `AddV2` for Reshape targets). Returns undefined when the op has no folder: it is then
 * converted like any other node.
 */
export function foldConstant(ctx: OpContext): ConstTensor[] | undefined {
  const folder = FOLDERS[ctx.node.op];
  return folder?.(ctx);
}

const count = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

function make(dtype: ConstTensor['dtype'], shape: number[], values: ArrayLike<number>): ConstTensor {
  return { dtype, shape, data: dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values) };
}

function binary(fn: (a: number, b: number) => number) {
  return (ctx: OpContext): ConstTensor[] => {
    const a = ctx.constInput(0);
    const b = ctx.constInput(1);
    const shape = broadcastShapes(a.shape, b.shape);
    const out = new Array<number>(count(shape));
    const strides = (s: number[]): number[] => {
      // Stride 0 on broadcast axes, aligned to the output rank.
      const full = [...new Array<number>(shape.length - s.length).fill(1), ...s];
      const st = new Array<number>(full.length).fill(0);
      let acc = 1;
      for (let i = full.length - 1; i >= 0; i--) {
        st[i] = full[i] === 1 ? 0 : acc;
        acc *= full[i] ?? 1;
      }
      return st;
    };
    const sa = strides(a.shape);
    const sb = strides(b.shape);
    for (let i = 0; i < out.length; i++) {
      let rest = i;
      let ia = 0;
      let ib = 0;
      for (let d = shape.length - 1; d >= 0; d--) {
        const dim = shape[d] ?? 1;
        const k = rest % dim;
        rest = (rest - k) / dim;
        ia += k * (sa[d] ?? 0);
        ib += k * (sb[d] ?? 0);
      }
      out[i] = fn(a.data[ia] ?? 0, b.data[ib] ?? 0);
    }
    const dtype = a.dtype === 'float32' || b.dtype === 'float32' ? 'float32' : 'int32';
    return [make(dtype, shape, dtype === 'int32' ? out.map((v) => Math.trunc(v)) : out)];
  };
}

const FOLDERS: Record<string, (ctx: OpContext) => ConstTensor[]> = {
  Identity: (ctx) => [ctx.constInput(0)],
  Add: binary((a, b) => a + b),
  AddV2: binary((a, b) => a + b),
  Sub: binary((a, b) => a - b),
  Mul: binary((a, b) => a * b),
  Maximum: binary((a, b) => Math.max(a, b)),
  Minimum: binary((a, b) => Math.min(a, b)),
  Cast: (ctx) => {
    const t = ctx.constInput(0);
    const to = ctx.attr('DstT')?.type ?? 'DT_FLOAT';
    if (to === 'DT_FLOAT') return [make('float32', t.shape, t.data)];
    if (to === 'DT_INT32' || to === 'DT_INT64')
      return [make('int32', t.shape, Array.from(t.data, Math.trunc))];
    return ctx.fail(`cannot fold a cast to ${to}`);
  },
  Reshape: (ctx) => {
    const t = ctx.constInput(0);
    const target = ctx.ints(1);
    const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const shape = target.map((d) => (d === -1 ? count(t.shape) / known : d));
    return [{ ...t, shape }];
  },
  /** Scatters `values` at `indices` into a dense tensor filled with `default` (all inputs constant). */
  SparseToDense: (ctx) => {
    const indices = ctx.ints(0);
    const shape = ctx.ints(1);
    const values = ctx.constInput(2);
    const fill = ctx.constInput(3).data[0] ?? 0;
    const rank = shape.length;
    const out = new Array<number>(count(shape)).fill(fill);
    const n = rank === 0 ? 0 : indices.length / Math.max(rank, 1);
    for (let k = 0; k < n; k++) {
      let flat = 0;
      for (let d = 0; d < rank; d++) flat = flat * (shape[d] ?? 1) + (indices[k * rank + d] ?? 0);
      out[flat] = values.data.length === 1 ? (values.data[0] ?? 0) : (values.data[k] ?? 0);
    }
    return [make(values.dtype, shape, out)];
  },
};
