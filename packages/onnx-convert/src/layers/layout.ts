// Layout helpers shared by the layer handlers: Keras is NHWC, the converted graph keeps rank-4 values NCHW.
import type { KTensor, LayerCall } from './context.ts';

/** Converts one call of one Keras layer; returns its output tensors. */
export type LayerHandler = (call: LayerCall) => KTensor[];

export type Dim = number | null;

/** Keras axis (negative allowed) -> ONNX axis of the stored tensor (rank 4 is stored NCHW). */
export function onnxAxis(call: LayerCall, axis: number, rank: number, option: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a <= 0 || a >= rank)
    call.unsupported(option, `${option} = ${axis} is not supported for a rank-${rank} input`);
  return rank === 4 ? ([0, 2, 3, 1][a] as number) : a;
}

/** A rank-4 stored-NCHW value as NHWC (Keras order). */
export function toNHWC(call: LayerCall, x: KTensor): string {
  return call.op('Transpose', [x.name], 'to_nhwc', { perm: [0, 2, 3, 1] });
}

/** A Keras-order (NHWC) rank-4 value back to the stored NCHW layout. */
export function toNCHW(call: LayerCall, name: string): string {
  return call.op('Transpose', [name], 'to_nchw', { perm: [0, 3, 1, 2] });
}

export function product(dims: readonly Dim[]): number | null {
  let p = 1;
  for (const d of dims) {
    if (d === null) return null;
    p *= d;
  }
  return p;
}

export function channels(call: LayerCall, x: KTensor): number {
  call.requireRank(x, 4);
  const c = x.shape[3];
  if (typeof c !== 'number') call.unsupported('input_shape', 'the number of input channels is unknown');
  return c;
}
