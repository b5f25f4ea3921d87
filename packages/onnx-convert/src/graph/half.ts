import { halfToFloat } from './tfjs-model.ts';
import type { IrGraph } from './ir.ts';

/** Tensors smaller than this stay float32: a Cast node per tiny bias/scale costs more than it saves. */
const MIN_ELEMENTS = 64;

/**
 * The IEEE 754 binary16 bits of `v` when `v` is exactly a float16 value, else undefined (no rounding ever
 * happens here: a weight either survives bit-exactly or stays float32). Pure.
 */
export function exactHalfBits(v: number): number | undefined {
  if (Number.isNaN(v)) return undefined;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a === 0) return sign;
  if (a === Infinity) return sign | 0x7c00;
  let bits: number;
  if (a < 2 ** -14) {
    // Subnormal half: a = m * 2^-24 with m in 1..1023.
    const m = a * 2 ** 24;
    if (!Number.isInteger(m)) return undefined;
    bits = sign | m;
  } else {
    let e = Math.floor(Math.log2(a));
    if (2 ** e > a) e--;
    else if (2 ** (e + 1) <= a) e++;
    if (e > 15) return undefined;
    const m = (a / 2 ** e - 1) * 1024;
    if (!Number.isInteger(m)) return undefined;
    bits = sign | ((e + 15) << 10) | m;
  }
  return Object.is(halfToFloat(bits), v) ? bits : undefined;
}

/**
 * Rewrites every float32 initializer whose values are all exact float16 values into a float16 initializer and
 * a Cast back to float32 under the original name, so no consumer changes and results stay bit-identical.
 */
export function halveExactWeights(graph: IrGraph): void {
  const casts: IrGraph['nodes'] = [];
  for (const init of [...graph.initializers.values()]) {
    if (init.dtype !== 'float32' || init.data.length < MIN_ELEMENTS) continue;
    const half = new Uint16Array(init.data.length);
    let exact = true;
    for (let i = 0; i < init.data.length; i++) {
      const bits = exactHalfBits(init.data[i] ?? 0);
      if (bits === undefined) {
        exact = false;
        break;
      }
      half[i] = bits;
    }
    if (!exact) continue;
    const stored = graph.fresh(`${init.name}/f16`);
    graph.initializers.delete(init.name);
    graph.initializers.set(stored, { name: stored, dtype: 'float16', dims: init.dims, data: half });
    casts.push({ op: 'Cast', inputs: [stored], outputs: [init.name], attrs: { to: 1 }, origin: init.name });
  }
  graph.nodes = [...casts, ...graph.nodes];
}
