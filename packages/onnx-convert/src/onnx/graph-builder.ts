import { AttributeType, DataType, ModelProto, type DataTypeValue } from './onnx-proto.ts';

/** An attribute value: numbers are INT when integral unless wrapped with `float()`, arrays likewise. */
export type AttributeValue = number | string | number[] | FloatAttr | FloatsAttr;
export interface FloatAttr {
  kind: 'float';
  value: number;
}
export interface FloatsAttr {
  kind: 'floats';
  value: number[];
}
/** Marks a number (or list) as an ONNX FLOAT(S) attribute even when it is integral (e.g. `alpha: float(1)`). */
export function float(value: number): FloatAttr;
export function float(value: number[]): FloatsAttr;
export function float(value: number | number[]): FloatAttr | FloatsAttr {
  return Array.isArray(value) ? { kind: 'floats', value } : { kind: 'float', value };
}

interface TensorObj {
  name: string;
  dims: number[];
  data_type: DataTypeValue;
  raw_data: Uint8Array;
}
interface NodeObj {
  name: string;
  op_type: string;
  input: string[];
  output: string[];
  attribute: Record<string, unknown>[];
}
interface ValueInfoObj {
  name: string;
  type: {
    tensor_type: { elem_type: number; shape: { dim: ({ dim_value: number } | { dim_param: string })[] } };
  };
}

/** A dimension: a fixed size, or a symbolic name (e.g. 'batch') for a dynamic one. */
export type Dim = number | string;

/**
 * Builds an ONNX graph node by node. Names must be unique; `uniqueName()` helps. The output bytes depend only
 * on the calls made, in order, so a deterministic converter yields byte-identical files.
 */
export class GraphBuilder {
  private readonly nodes: NodeObj[] = [];
  private readonly initializers: TensorObj[] = [];
  private readonly inputs: ValueInfoObj[] = [];
  private readonly outputs: ValueInfoObj[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(readonly graphName: string) {}

  /** A fresh value name derived from `hint` that no other value or node uses. */
  uniqueName(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_./:-]/g, '_');
    let name = base;
    while (this.names.has(name)) name = `${base}__${++this.counter}`;
    this.names.add(name);
    return name;
  }

  addInput(name: string, dims: Dim[], elemType: DataTypeValue = DataType.FLOAT): string {
    this.inputs.push(valueInfo(name, dims, elemType));
    this.names.add(name);
    return name;
  }

  addOutput(name: string, dims: Dim[], elemType: DataTypeValue = DataType.FLOAT): void {
    this.outputs.push(valueInfo(name, dims, elemType));
  }

  /** Adds a float32 constant tensor; returns its name. */
  addFloatInitializer(hint: string, data: Float32Array, dims: number[]): string {
    assertSize(data.length, dims, hint);
    return this.addRawInitializer(
      hint,
      DataType.FLOAT,
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      dims,
    );
  }

  /** Adds a float16 constant tensor from its IEEE 754 binary16 bits; returns its name. */
  addFloat16Initializer(hint: string, bits: Uint16Array, dims: number[]): string {
    assertSize(bits.length, dims, hint);
    // raw_data is little-endian; so are the typed arrays on every platform Node supports.
    return this.addRawInitializer(
      hint,
      DataType.FLOAT16,
      new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength),
      dims,
    );
  }

  /** Adds an int64 constant tensor (shapes, axes, pads); returns its name. */
  addInt64Initializer(hint: string, data: readonly number[], dims: number[] = [data.length]): string {
    assertSize(data.length, dims, hint);
    const raw = new BigInt64Array(data.map((v) => BigInt(v)));
    return this.addRawInitializer(hint, DataType.INT64, new Uint8Array(raw.buffer), dims);
  }

  private addRawInitializer(hint: string, dataType: DataTypeValue, raw: Uint8Array, dims: number[]): string {
    const name = this.uniqueName(hint);
    // Copy: callers may hand us views into larger weight buffers that they reuse.
    this.initializers.push({ name, dims, data_type: dataType, raw_data: raw.slice() });
    return name;
  }

  /**
   * Adds a node. `outputs` are value names (use `uniqueName`); returns them for chaining. The node's own name is
   * `name` (made unique), which error messages and profilers show.
   */
  addNode(
    opType: string,
    inputs: string[],
    outputs: string[],
    attributes: Record<string, AttributeValue> = {},
    name: string = outputs[0] ?? opType,
  ): string[] {
    this.nodes.push({
      name: this.uniqueName(`${name}/${opType}`),
      op_type: opType,
      input: inputs,
      output: outputs,
      attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
    });
    return outputs;
  }

  /** Convenience: one node with a single fresh output named after `hint`; returns the output name. */
  op(
    opType: string,
    inputs: string[],
    hint: string,
    attributes: Record<string, AttributeValue> = {},
  ): string {
    const out = this.uniqueName(hint);
    this.addNode(opType, inputs, [out], attributes, hint);
    return out;
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** Serialises the model. `metadata` lands in ModelProto.metadata_props (sorted for determinism). */
  toBytes(
    options: {
      opset?: number;
      producerVersion?: string;
      docString?: string;
      metadata?: Record<string, string>;
    } = {},
  ): Uint8Array {
    const model = {
      ir_version: 8,
      producer_name: 'labelq-onnx-convert',
      producer_version: options.producerVersion ?? '1',
      doc_string: options.docString ?? '',
      opset_import: [{ domain: '', version: options.opset ?? 13 }],
      metadata_props: Object.entries(options.metadata ?? {})
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, value]) => ({ key, value })),
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
    return ModelProto.encode(ModelProto.fromObject(model)).finish();
  }
}

function valueInfo(name: string, dims: Dim[], elemType: DataTypeValue): ValueInfoObj {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

function attribute(name: string, value: AttributeValue): Record<string, unknown> {
  if (typeof value === 'string')
    return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') {
    return Number.isInteger(value)
      ? { name, type: AttributeType.INT, i: value }
      : { name, type: AttributeType.FLOAT, f: value };
  }
  if (Array.isArray(value)) {
    return value.every(Number.isInteger)
      ? { name, type: AttributeType.INTS, ints: value }
      : { name, type: AttributeType.FLOATS, floats: value };
  }
  return value.kind === 'float'
    ? { name, type: AttributeType.FLOAT, f: value.value }
    : { name, type: AttributeType.FLOATS, floats: value.value };
}

function assertSize(length: number, dims: number[], hint: string): void {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (expected !== length)
    throw new Error(`initializer ${hint}: ${length} values do not fit dims [${dims.join(', ')}]`);
}
