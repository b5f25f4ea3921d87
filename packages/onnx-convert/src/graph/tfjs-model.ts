import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LabelqError } from '@labelq/errors';

/** One attribute of a GraphDef node as TF.js serialises it (protobuf JSON: int64 as strings, bytes as base64). */
export interface TfAttrValue {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  tensor?: unknown;
  list?: { s?: string[]; i?: (string | number)[]; f?: number[]; b?: boolean[]; type?: string[] };
}

/** A GraphDef node: `input` entries are `name`, `name:k` (k-th output) or `^name` (control edge). */
export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttrValue>;
}

export interface TfWeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  /** Present when the file stores a compressed form: float16, or uint8/uint16 affine (value = q * scale + min). */
  quantization?: { dtype: string; scale?: number; min?: number; original_dtype?: string };
}

/** The model.json of a TF.js graph model (`format: 'graph-model'`). */
export interface TfjsGraphModelJson {
  format?: string;
  modelTopology: { node: TfNode[]; library?: { function?: unknown[] }; versions?: Record<string, unknown> };
  weightsManifest: { paths: string[]; weights: TfWeightSpec[] }[];
  signature?: {
    inputs?: Record<string, { name: string; dtype?: string; tensorShape?: TfAttrValue['shape'] }>;
    outputs?: Record<string, { name: string; dtype?: string; tensorShape?: TfAttrValue['shape'] }>;
  };
}

/** A constant tensor known at conversion time (weights, shapes, perms). Int tensors are kept as int32. */
export interface ConstTensor {
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface LoadedGraphModel {
  json: TfjsGraphModelJson;
  /** All weight shards concatenated in manifest order. */
  weightData: Uint8Array;
}

/** Reads a model.json and its weight shards (paths relative to the json). */
export async function readGraphModelFiles(modelJsonPath: string): Promise<LoadedGraphModel> {
  let json: TfjsGraphModelJson;
  try {
    json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as TfjsGraphModelJson;
  } catch (err) {
    throw new LabelqError('model_missing', `cannot read TF.js graph model ${modelJsonPath}`, { cause: err });
  }
  if (!Array.isArray(json.modelTopology?.node) || !Array.isArray(json.weightsManifest)) {
    throw new LabelqError(
      'manifest_invalid',
      `${modelJsonPath} is not a TF.js graph model (no modelTopology.node)`,
    );
  }
  const shards: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    for (const path of group.paths) {
      try {
        shards.push(await readFile(join(dirname(modelJsonPath), path)));
      } catch (err) {
        throw new LabelqError('model_missing', `cannot read weight shard ${path} of ${modelJsonPath}`, {
          cause: err,
        });
      }
    }
  }
  return { json, weightData: concat(shards) };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, float16: 2, uint16: 2, uint8: 1, bool: 1 };

/**
 * Decodes the weight buffer into float32/int32 tensors, undoing TF.js weight quantization: float16 is widened
 * exactly; uint8/uint16 affine quantization is dequantized as `q * scale + min`.
 */
export function decodeWeights(json: TfjsGraphModelJson, weightData: Uint8Array): Map<string, ConstTensor> {
  const out = new Map<string, ConstTensor>();
  const view = new DataView(weightData.buffer, weightData.byteOffset, weightData.byteLength);
  let offset = 0;
  for (const spec of json.weightsManifest.flatMap((g) => g.weights)) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const storedType = spec.quantization?.dtype ?? spec.dtype;
    const width = BYTES[storedType];
    if (
      width === undefined ||
      (spec.dtype !== 'float32' && spec.dtype !== 'int32' && spec.dtype !== 'bool')
    ) {
      throw new LabelqError(
        'manifest_invalid',
        `weight ${spec.name}: unsupported dtype ${spec.dtype}/${storedType}`,
      );
    }
    if (offset + count * width > weightData.byteLength) {
      throw new LabelqError('model_unsupported', `weight ${spec.name} runs past the end of the weight data`);
    }
    const isFloat = spec.dtype === 'float32';
    const data = isFloat ? new Float32Array(count) : new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const at = offset + i * width;
      switch (storedType) {
        case 'float32':
          data[i] = view.getFloat32(at, true);
          break;
        case 'int32':
          data[i] = view.getInt32(at, true);
          break;
        case 'float16':
          data[i] = halfToFloat(view.getUint16(at, true));
          break;
        case 'uint16':
        case 'uint8': {
          const q = storedType === 'uint8' ? view.getUint8(at) : view.getUint16(at, true);
          data[i] = q * (spec.quantization?.scale ?? 1) + (spec.quantization?.min ?? 0);
          break;
        }
        default: // bool
          data[i] = view.getUint8(at);
      }
    }
    out.set(spec.name, { dtype: isFloat ? 'float32' : 'int32', shape: [...spec.shape], data });
    offset += count * width;
  }
  return out;
}

/** IEEE 754 binary16 -> number (exact: every half value is representable in float32). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
