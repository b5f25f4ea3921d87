import type { AttributeValue } from '../onnx/graph-builder.ts';
import { GraphBuilder } from '../onnx/graph-builder.ts';

/** One ONNX node before serialisation; `origin` is the TF node it came from (for names and errors). */
export interface IrNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttributeValue>;
  origin: string;
}

export type IrInitializer =
  | { name: string; dtype: 'float32'; dims: number[]; data: Float32Array }
  | { name: string; dtype: 'int64'; dims: number[]; data: number[] }
  | { name: string; dtype: 'float16'; dims: number[]; data: Uint16Array };

export interface IrValueInfo {
  name: string;
  dims: number[];
}

/**
 * A mutable ONNX graph that optimisation passes can rewrite before it is written with {@link GraphBuilder}.
 * Value names are unique and already in GraphBuilder's character set, so they survive serialisation as is.
 */
export class IrGraph {
  nodes: IrNode[] = [];
  readonly initializers = new Map<string, IrInitializer>();
  readonly inputs: IrValueInfo[] = [];
  readonly outputs: IrValueInfo[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  /** A fresh, unique value name derived from `hint`. */
  fresh(hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_./:-]/g, '_');
    let name = base;
    while (this.names.has(name)) name = `${base}__${++this.counter}`;
    this.names.add(name);
    return name;
  }

  /** Registers an exact name (graph outputs keep their TF names); false when it is already taken. */
  claim(name: string): boolean {
    if (this.names.has(name) || name !== name.replace(/[^A-Za-z0-9_./:-]/g, '_')) return false;
    this.names.add(name);
    return true;
  }

  addInput(hint: string, dims: number[]): string {
    const name = this.fresh(hint);
    this.inputs.push({ name, dims });
    return name;
  }

  /** Adds a node with one fresh output per hint; returns the output names. */
  add(
    op: string,
    inputs: string[],
    outputHints: string[],
    attrs: Record<string, AttributeValue>,
    origin: string,
  ) {
    const outputs = outputHints.map((h) => this.fresh(h));
    this.nodes.push({ op, inputs, outputs, attrs, origin });
    return outputs;
  }

  /** Single-output convenience for {@link add}. */
  add1(op: string, inputs: string[], hint: string, attrs: Record<string, AttributeValue>, origin: string) {
    return this.add(op, inputs, [hint], attrs, origin)[0] as string;
  }

  floatConst(hint: string, data: Float32Array, dims: number[]): string {
    const name = this.fresh(hint);
    this.initializers.set(name, { name, dtype: 'float32', dims, data });
    return name;
  }

  int64Const(hint: string, data: readonly number[], dims: number[] = [data.length]): string {
    const name = this.fresh(hint);
    this.initializers.set(name, { name, dtype: 'int64', dims, data: [...data] });
    return name;
  }

  /** Who reads each value (node indices), for the rewrite passes. */
  consumers(): Map<string, IrNode[]> {
    const map = new Map<string, IrNode[]>();
    for (const node of this.nodes) {
      for (const input of node.inputs) {
        if (input === '') continue;
        const list = map.get(input);
        if (list) list.push(node);
        else map.set(input, [node]);
      }
    }
    return map;
  }

  producers(): Map<string, IrNode> {
    const map = new Map<string, IrNode>();
    for (const node of this.nodes) for (const out of node.outputs) map.set(out, node);
    return map;
  }

  isGraphOutput(name: string): boolean {
    return this.outputs.some((o) => o.name === name);
  }

  /** Serialises in a fixed order (initializers in creation order, nodes in graph order): byte-identical runs. */
  toBytes(graphName: string, metadata: Record<string, string>): Uint8Array {
    const builder = new GraphBuilder(graphName);
    for (const input of this.inputs) builder.addInput(input.name, input.dims);
    for (const init of this.initializers.values()) {
      const name =
        init.dtype === 'float32'
          ? builder.addFloatInitializer(init.name, init.data, init.dims)
          : init.dtype === 'float16'
            ? builder.addFloat16Initializer(init.name, init.data, init.dims)
            : builder.addInt64Initializer(init.name, init.data, init.dims);
      if (name !== init.name) throw new Error(`initializer name ${init.name} changed to ${name}`);
    }
    for (const node of this.nodes)
      builder.addNode(node.op, node.inputs, node.outputs, node.attrs, node.origin);
    for (const output of this.outputs) builder.addOutput(output.name, output.dims);
    return builder.toBytes({ opset: 13, producerVersion: '1', metadata });
  }
}
