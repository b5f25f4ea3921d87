import { LabelqError } from '@labelq/errors';
import { OpContext, dyn, type OpHandler, type Value } from './context.ts';
import { foldConstant } from './const-fold.ts';
import { IrGraph } from './ir.ts';
import { halveExactWeights } from './half.ts';
import { INDEX_OPS } from './ops-index.ts';
import { NN_OPS } from './ops-nn.ts';
import { TENSOR_OPS } from './ops-tensor.ts';
import { optimize } from './optimize.ts';
import {
  decodeWeights,
  readGraphModelFiles,
  type ConstTensor,
  type LoadedGraphModel,
  type TfNode,
} from './tfjs-model.ts';

const HANDLERS: Record<string, OpHandler> = { ...NN_OPS, ...TENSOR_OPS, ...INDEX_OPS };

/** TF ops the converter understands (constant-only subgraphs may use a few more: they are folded). */
export const SUPPORTED_TF_OPS: readonly string[] = ['Placeholder', 'Const', ...Object.keys(HANDLERS)].sort();

export interface ConvertGraphModelOptions {
  /**
   * Static shape per placeholder (name without `:0`). Default: the placeholder's declared shape, with unknown
   * dimensions (-1, e.g. the batch) fixed to 1. The converter needs static shapes (SAME padding, resize
   * sizes), so the exported model has a fixed batch: batch 1 unless overridden here.
   */
  inputShapes?: Record<string, number[]>;
  /**
   * Tensors to export, in order (`node` or `node:k`). Default: the signature's outputs sorted by name, or
   * every node nothing reads when the model has no signature.
   */
  outputs?: string[];
  /** ONNX graph name. Default `'tfjs-graph-model'`. */
  graphName?: string;
  /** Written to the ModelProto's metadata_props. Default: none. */
  metadata?: Record<string, string>;
  /** Run the layout/fusion clean-up passes. Default true (false helps debugging a suspected pass bug). */
  optimize?: boolean;
  /**
   * Store float weights whose every value is exactly a float16 (TF.js models shipped with float16 weights) as
   * float16 initializers followed by a Cast to float32: half the file size, bit-identical results (onnxruntime
   * folds the Cast when the session loads, so it runs the same float32 graph). Weights that are not exactly
   * representable (e.g. dequantised uint8, or fused biases) stay float32. Default true.
   */
  halfPrecisionWeights?: boolean;
}

export interface ConvertGraphModelResult {
  /** The serialised ONNX model (opset 13); byte-identical for identical inputs and options. */
  onnx: Uint8Array;
  inputs: { name: string; shape: number[] }[];
  /** ONNX output names (the TF tensor names without `:0`) with their static shapes. */
  outputs: { name: string; shape: number[] }[];
  /** TF op -> node count, over the nodes that feed the outputs. */
  tfOps: Record<string, number>;
  /** ONNX op -> node count in the written graph. */
  onnxOps: Record<string, number>;
}

/**
 * Converts a TF.js graph model (GraphDef JSON + weight shards) to ONNX, op by op. Tensors keep TF's layout;
 * NHWC-only ops (convolutions, pooling, resizes) are wrapped in Transposes that the optimiser then cancels
 * against the graph's own NCHW<->NHWC transposes. An op it cannot convert fails with `model_unsupported`
 * naming the op and the node.
 *
 * @param source the model.json path (shards are read from next to it) or already-loaded files.
 */
export async function convertGraphModel(
  source: string | LoadedGraphModel,
  options: ConvertGraphModelOptions = {},
): Promise<ConvertGraphModelResult> {
  const model = typeof source === 'string' ? await readGraphModelFiles(source) : source;
  const weights = decodeWeights(model.json, model.weightData);
  const nodes = new Map(model.json.modelTopology.node.map((n) => [n.name, n]));
  if ((model.json.modelTopology.library?.function?.length ?? 0) > 0) {
    throw new LabelqError('model_unsupported', 'graph models with control-flow functions are not supported');
  }
  const outputs = options.outputs ?? defaultOutputs(model.json.signature?.outputs, nodes);
  const order = topologicalOrder(
    outputs.map((o) => tensorNode(o)),
    nodes,
  );
  const graph = new IrGraph();
  const values = new Map<string, Value>();
  const materialized = new Map<string, string>();
  const tfOps: Record<string, number> = {};

  const valueOf = (ref: string, consumer: TfNode): Value => {
    const name = tensorNode(ref);
    const index = tensorIndex(ref);
    const v = values.get(index === 0 ? name : `${name}:${index}`);
    if (!v)
      throw new LabelqError('model_unsupported', `node '${consumer.name}' reads missing tensor '${ref}'`);
    return v;
  };

  for (const node of order) {
    tfOps[node.op] = (tfOps[node.op] ?? 0) + 1;
    const inputRefs = (node.input ?? []).filter((i) => !i.startsWith('^'));
    const inputs = inputRefs.map((ref) => valueOf(ref, node));
    const ctx = new OpContext(node, graph, inputs, (i) => {
      const v = inputs[i];
      if (!v) throw new LabelqError('model_unsupported', `node '${node.name}' has no input ${i}`);
      if (v.kind === 'dyn') return v.name;
      // One initializer per TF constant, however many nodes read it.
      const key = inputRefs[i] ?? '';
      let name = materialized.get(key);
      if (!name) {
        name = materializeConst(graph, tensorNode(key), v.tensor);
        materialized.set(key, name);
      }
      return name;
    });
    let results: Value[];
    if (node.op === 'Const') {
      const tensor = weights.get(node.name) ?? ctx.fail('constant has no weight data in the manifest');
      results = [{ kind: 'const', tensor }];
    } else if (node.op === 'Placeholder') {
      const shape = placeholderShape(ctx, options.inputShapes);
      results = [dyn(graph.addInput(node.name, shape), shape)];
    } else {
      const folded = inputs.every((v) => v.kind === 'const') ? foldConstant(ctx) : undefined;
      if (folded) results = folded.map((tensor) => ({ kind: 'const', tensor }));
      else {
        const handler =
          HANDLERS[node.op] ?? ctx.fail(`op ${node.op} is not supported by the graph-model converter`);
        results = handler(ctx);
      }
    }
    results.forEach((v, i) => values.set(i === 0 ? node.name : `${node.name}:${i}`, v));
  }

  for (const ref of outputs) {
    const v = values.get(tensorIndex(ref) === 0 ? tensorNode(ref) : ref);
    if (!v || v.kind !== 'dyn') {
      throw new LabelqError(
        'model_unsupported',
        `output '${ref}' is a constant or missing; nothing to compute`,
      );
    }
    const wanted = ref.replace(/:0$/, '');
    // Graph outputs get the TF names: rename the computing value, or copy it when it is already an input or
    // another output (the same tensor exported twice).
    const shared = graph.isGraphOutput(v.name) || graph.inputs.some((i) => i.name === v.name);
    let name = v.name;
    if (v.dtype !== undefined && v.dtype !== 'float32') {
      // Outputs are declared float32 (what the postprocessors read): integer/boolean results are cast.
      name = graph.add1('Cast', [v.name], wanted, { to: 1 }, wanted);
      graph.outputs.push({ name, dims: v.shape });
      continue;
    }
    if (shared || v.name !== wanted) {
      name = graph.claim(wanted) ? wanted : graph.fresh(wanted);
      if (shared)
        graph.nodes.push({ op: 'Identity', inputs: [v.name], outputs: [name], attrs: {}, origin: name });
      else {
        for (const n of graph.nodes) {
          n.outputs = n.outputs.map((o) => (o === v.name ? name : o));
          n.inputs = n.inputs.map((o) => (o === v.name ? name : o));
        }
      }
    }
    graph.outputs.push({ name, dims: v.shape });
  }

  if (options.optimize ?? true) optimize(graph);
  if (options.halfPrecisionWeights ?? true) halveExactWeights(graph);
  const onnxOps: Record<string, number> = {};
  for (const n of graph.nodes) onnxOps[n.op] = (onnxOps[n.op] ?? 0) + 1;
  return {
    onnx: graph.toBytes(options.graphName ?? 'tfjs-graph-model', options.metadata ?? {}),
    inputs: graph.inputs.map((i) => ({ name: i.name, shape: i.dims })),
    outputs: graph.outputs.map((o) => ({ name: o.name, shape: o.dims })),
    tfOps,
    onnxOps,
  };
}

function materializeConst(graph: IrGraph, hint: string, t: ConstTensor): string {
  return t.dtype === 'float32'
    ? graph.floatConst(hint, t.data as Float32Array, t.shape)
    : graph.int64Const(hint, Array.from(t.data), t.shape);
}

function placeholderShape(ctx: OpContext, overrides: Record<string, number[]> | undefined): number[] {
  const override = overrides?.[ctx.node.name];
  if (override) return override;
  const dims = ctx.attr('shape')?.shape?.dim;
  if (!dims) return ctx.fail('placeholder has no static shape; pass options.inputShapes');
  return dims.map((d) => {
    const size = Number(d.size ?? -1);
    return size < 0 ? 1 : size;
  });
}

function tensorNode(ref: string): string {
  return ref.replace(/^\^/, '').replace(/:\d+$/, '');
}

function tensorIndex(ref: string): number {
  const m = /:(\d+)$/.exec(ref);
  return m ? Number(m[1]) : 0;
}

function defaultOutputs(
  signature: Record<string, { name: string }> | undefined,
  nodes: Map<string, TfNode>,
): string[] {
  if (signature && Object.keys(signature).length > 0) {
    return Object.values(signature)
      .map((o) => o.name)
      .sort((a, b) => (naturalKey(a) < naturalKey(b) ? -1 : naturalKey(a) > naturalKey(b) ? 1 : 0));
  }
  const read = new Set<string>();
  for (const n of nodes.values()) for (const i of n.input ?? []) read.add(tensorNode(i));
  return [...nodes.values()].filter((n) => !read.has(n.name) && n.op !== 'Const').map((n) => n.name);
}

/** Sorts `x_10` after `x_9` and `x:0` before `x_1:0`. */
function naturalKey(name: string): string {
  return name.replace(/:0$/, '').replace(/\d+/g, (d) => d.padStart(10, '0'));
}

/** Depth-first post-order from the outputs: every node after its inputs, unused nodes skipped. */
function topologicalOrder(roots: string[], nodes: Map<string, TfNode>): TfNode[] {
  const order: TfNode[] = [];
  const state = new Map<string, 'open' | 'done'>();
  for (const root of roots) {
    const stack: { name: string; expanded: boolean }[] = [{ name: root, expanded: false }];
    while (stack.length > 0) {
      const top = stack.pop() as { name: string; expanded: boolean };
      const node = nodes.get(top.name);
      if (!node)
        throw new LabelqError('model_unsupported', `the graph references unknown node '${top.name}'`);
      if (top.expanded) {
        state.set(top.name, 'done');
        order.push(node);
        continue;
      }
      const s = state.get(top.name);
      if (s === 'done') continue;
      if (s === 'open')
        throw new LabelqError('model_unsupported', `the graph has a cycle through '${top.name}'`);
      state.set(top.name, 'open');
      stack.push({ name: top.name, expanded: true });
      const inputs = (node.input ?? []).map(tensorNode);
      for (let i = inputs.length - 1; i >= 0; i--) {
        const name = inputs[i] as string;
        if (state.get(name) !== 'done') stack.push({ name, expanded: false });
      }
    }
  }
  return order;
}
