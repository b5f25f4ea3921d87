import { LabelqError } from '@labelq/errors';
import type { AttributeValue } from '../onnx/graph-builder.ts';
import type { IrGraph } from './ir.ts';
import type { ConstTensor, TfAttrValue, TfNode } from './tfjs-model.ts';

/**
 * Element type of a computed ONNX value. TF int32 tensors become int64 in the ONNX graph (ONNX's index ops,
 * TopK and Gather, produce and prefer int64), so integer constants are written as int64 initializers too.
 */
export type DType = 'float32' | 'int64' | 'bool';

/** A TF tensor during conversion: a constant known now, or an ONNX value with a static shape and type. */
export type Value =
  { kind: 'const'; tensor: ConstTensor } | { kind: 'dyn'; name: string; shape: number[]; dtype?: DType };

/** Everything an op handler may use; handlers return one Value per TF output. */
export class OpContext {
  constructor(
    readonly node: TfNode,
    readonly graph: IrGraph,
    readonly inputs: Value[],
    private readonly materialize: (index: number) => string,
  ) {}

  /** Fails with a coded error that names the op and the node. */
  fail(reason: string): never {
    throw new LabelqError('model_unsupported', `${this.node.op} node '${this.node.name}': ${reason}`, {
      details: { op: this.node.op, node: this.node.name },
    });
  }

  input(i: number): Value {
    const v = this.inputs[i];
    if (!v) this.fail(`missing input ${i}`);
    return v;
  }

  /** The ONNX value name of input i (a constant becomes an initializer). */
  dyn(i: number): string {
    this.input(i);
    return this.materialize(i);
  }

  /** Element type of input i as the ONNX graph holds it (integer constants are materialised as int64). */
  dtype(i: number): DType {
    const v = this.input(i);
    if (v.kind === 'const') return v.tensor.dtype === 'float32' ? 'float32' : 'int64';
    return v.dtype ?? 'float32';
  }

  shape(i: number): number[] {
    const v = this.input(i);
    return v.kind === 'const' ? v.tensor.shape : v.shape;
  }

  constInput(i: number): ConstTensor {
    const v = this.input(i);
    if (v.kind !== 'const') this.fail(`input ${i} must be a constant`);
    return v.tensor;
  }

  /** A constant integer input as a plain array (shapes, axes, perms, sizes). */
  ints(i: number): number[] {
    const t = this.constInput(i);
    if (t.dtype !== 'int32') this.fail(`input ${i} must be an integer constant`);
    return Array.from(t.data);
  }

  attr(name: string): TfAttrValue | undefined {
    return this.node.attr?.[name];
  }

  attrInt(name: string, fallback?: number): number {
    const v = this.attr(name)?.i;
    if (v === undefined) return fallback ?? this.fail(`missing attribute ${name}`);
    return Number(v);
  }

  attrInts(name: string, fallback?: number[]): number[] {
    const v = this.attr(name)?.list?.i;
    if (v === undefined || v.length === 0) return fallback ?? this.fail(`missing attribute ${name}`);
    return v.map(Number);
  }

  attrFloat(name: string, fallback: number): number {
    return this.attr(name)?.f ?? fallback;
  }

  attrBool(name: string, fallback: boolean): boolean {
    return this.attr(name)?.b ?? fallback;
  }

  attrString(name: string, fallback?: string): string {
    const v = this.attr(name)?.s;
    if (v === undefined) return fallback ?? this.fail(`missing attribute ${name}`);
    return Buffer.from(v, 'base64').toString('utf8');
  }

  attrStrings(name: string): string[] {
    return (this.attr(name)?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
  }

  /** Adds a node named after this TF node; returns its single output. */
  emit(
    op: string,
    inputs: string[],
    attrs: Record<string, AttributeValue> = {},
    hint = this.node.name,
  ): string {
    return this.graph.add1(op, inputs, hint, attrs, this.node.name);
  }
}

export type OpHandler = (ctx: OpContext) => Value[];

export function dyn(name: string, shape: number[], dtype: DType = 'float32'): Value {
  return dtype === 'float32' ? { kind: 'dyn', name, shape } : { kind: 'dyn', name, shape, dtype };
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** numpy/TF broadcasting of two static shapes. */
export function broadcastShapes(a: number[], b: number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1)
      throw new Error(`shapes [${a.join(',')}] and [${b.join(',')}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}
