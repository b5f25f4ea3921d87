import { ModelConversionError } from '../errors.ts';

/** One entry of a TF.js `weightsManifest[].weights` list. */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  /** Present when the file stores a compressed form: float16, or uint8/uint16 affine (value = q * scale + min). */
  quantization?: { dtype: string; scale?: number; min?: number; original_dtype?: string };
}

/**
 * A TF.js layers model in memory, shaped like TF.js's own `ModelArtifacts`: the Keras topology JSON, the
 * weight specs of every manifest group in order, and the weight shards concatenated in the same order.
 */
export interface LayersModelArtifacts {
  modelTopology: unknown;
  weightSpecs: WeightSpec[];
  weightData: Uint8Array;
}

/** A decoded float32 weight. */
export interface Weight {
  name: string;
  shape: number[];
  values: Float32Array;
}

const STORED_BYTES: Record<string, number> = { float32: 4, float16: 2, uint16: 2, uint8: 1 };

/**
 * Decodes the weight buffer into float32 tensors exactly as TF.js does (`io.decodeWeights`): uint8/uint16 affine
 * quantization is `q * scale + min` computed in double precision and rounded once to float32; float16 is widened
 * exactly. Keys are the weight names without a trailing `:0`.
 */
export function decodeWeights(specs: readonly WeightSpec[], data: Uint8Array): Map<string, Weight> {
  const out = new Map<string, Weight>();
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let offset = 0;
  for (const spec of specs) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const stored = spec.quantization?.dtype ?? spec.dtype;
    const width = STORED_BYTES[stored];
    if (spec.dtype !== 'float32' || width === undefined) {
      throw new ModelConversionError(
        `weight ${spec.name}: unsupported dtype ${spec.dtype} stored as ${stored}`,
        {
          weight: spec.name,
        },
      );
    }
    if (offset + count * width > data.byteLength) {
      throw new ModelConversionError(
        `weight ${spec.name} runs past the end of the weight data (${data.byteLength} bytes)`,
        { weight: spec.name },
      );
    }
    const values = new Float32Array(count);
    switch (stored) {
      case 'float32':
        for (let i = 0; i < count; i++) values[i] = view.getFloat32(offset + i * 4, true);
        break;
      case 'float16':
        for (let i = 0; i < count; i++) values[i] = halfToFloat(view.getUint16(offset + i * 2, true));
        break;
      default: {
        const q = spec.quantization;
        if (q?.scale === undefined || q.min === undefined) {
          throw new ModelConversionError(
            `weight ${spec.name}: ${stored} quantization without scale and min`,
            {
              weight: spec.name,
            },
          );
        }
        const { scale, min } = q;
        for (let i = 0; i < count; i++) {
          const v = stored === 'uint8' ? view.getUint8(offset + i) : view.getUint16(offset + i * 2, true);
          values[i] = v * scale + min;
        }
      }
    }
    const name = spec.name.replace(/:0$/, '');
    if (out.has(name))
      throw new ModelConversionError(`weight ${spec.name} appears twice in the manifest`, { weight: name });
    out.set(name, { name, shape: [...spec.shape], values });
    offset += count * width;
  }
  if (offset !== data.byteLength) {
    throw new ModelConversionError(
      `the weight specs describe ${offset} bytes but the weight data has ${data.byteLength}`,
      { expected: offset, actual: data.byteLength },
    );
  }
  return out;
}

/** IEEE 754 half precision to float, exactly. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
