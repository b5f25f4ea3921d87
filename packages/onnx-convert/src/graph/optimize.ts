import type { AttributeValue } from '../onnx/graph-builder.ts';
import type { IrGraph, IrNode } from './ir.ts';

/**
 * Rewrites that keep results identical (up to float rounding of the bias add) but drop the layout shuffles
 * a literal NHWC<->NCHW translation creates:
 * - Conv -> [Transpose] -> Add(per-channel constant) becomes a Conv with a bias;
 * - chains of Transposes collapse into one, identity Transposes disappear;
 * - a zero Pad feeding a Conv (or a -inf Pad feeding a MaxPool) moves into the op's `pads`;
 * - nodes and initializers nothing reads are removed.
 */
export function optimize(graph: IrGraph): void {
  fuseConvBias(graph);
  foldTransposes(graph);
  // Dead Transposes still read the Pads: drop them first so the Pads have a single reader.
  removeDead(graph);
  fusePads(graph);
  removeDead(graph);
}

const perm = (node: IrNode): number[] => node.attrs.perm as number[];

function isPerm(node: IrNode | undefined, p: number[]): boolean {
  return node?.op === 'Transpose' && perm(node).join() === p.join();
}

function onlyConsumer(graph: IrGraph, consumers: Map<string, IrNode[]>, value: string): IrNode | undefined {
  const list = consumers.get(value);
  return list?.length === 1 && !graph.isGraphOutput(value) ? list[0] : undefined;
}

/** The per-channel constant of an Add, if its other operand is one with `channels` values on `axis`. */
function channelConstant(graph: IrGraph, add: IrNode, x: string, channels: number, nchw: boolean) {
  const other = add.inputs[0] === x ? add.inputs[1] : add.inputs[0];
  const init = other === undefined ? undefined : graph.initializers.get(other);
  if (!init || init.dtype !== 'float32' || init.data.length !== channels) return undefined;
  const dims = init.dims.filter((d, i) => d !== 1 || i === init.dims.length - 1);
  const ok = nchw
    ? [`${channels},1,1`, `1,${channels},1,1`].includes(init.dims.join())
    : dims.length === 1 && init.dims[init.dims.length - 1] === channels;
  return ok ? init.data : undefined;
}

function fuseConvBias(graph: IrGraph): void {
  const consumers = graph.consumers();
  const removed = new Set<IrNode>();
  for (const conv of graph.nodes) {
    const y = conv.outputs[0];
    const weights = conv.inputs[1] === undefined ? undefined : graph.initializers.get(conv.inputs[1]);
    if (conv.op !== 'Conv' || y === undefined || !weights) continue;
    const channels = weights.dims[0] ?? 0;
    const next = onlyConsumer(graph, consumers, y);
    let add: IrNode | undefined;
    let data: Float32Array | undefined;
    let transpose: IrNode | undefined;
    if (next?.op === 'Add') {
      add = next;
      data = channelConstant(graph, next, y, channels, true);
    } else if (isPerm(next, [0, 2, 3, 1]) && next) {
      const after = onlyConsumer(graph, consumers, next.outputs[0] ?? '');
      if (after?.op === 'Add') {
        transpose = next;
        add = after;
        data = channelConstant(graph, after, next.outputs[0] ?? '', channels, false);
      }
    }
    if (!add || !data) continue;
    const bias = new Float32Array(channels);
    const old = conv.inputs[2] ? graph.initializers.get(conv.inputs[2]) : undefined;
    for (let i = 0; i < channels; i++) bias[i] = (old?.data[i] ?? 0) + (data[i] ?? 0);
    const name = graph.floatConst(`${conv.origin}/bias`, bias, [channels]);
    conv.inputs[2] = name;
    // The last node of the pattern now writes the Add's output, so its readers need no rewiring.
    const last = transpose ?? conv;
    last.outputs[0] = add.outputs[0] ?? '';
    removed.add(add);
  }
  graph.nodes = graph.nodes.filter((n) => !removed.has(n));
}

/** Replaces every read of `from` by `to`. */
function rename(graph: IrGraph, from: string, to: string): void {
  for (const node of graph.nodes) node.inputs = node.inputs.map((i) => (i === from ? to : i));
}

function foldTransposes(graph: IrGraph): void {
  const producers = graph.producers();
  const removed = new Set<IrNode>();
  for (const node of graph.nodes) {
    if (node.op !== 'Transpose') continue;
    const source = producers.get(node.inputs[0] ?? '');
    if (source?.op === 'Transpose' && !removed.has(source)) {
      // transpose(transpose(x, p1), p2) == transpose(x, p1[p2[k]]).
      const p1 = perm(source);
      node.attrs.perm = perm(node).map((k) => p1[k] ?? k) satisfies AttributeValue;
      node.inputs[0] = source.inputs[0] ?? '';
    }
    const p = perm(node);
    if (p.some((v, i) => v !== i)) continue;
    const input = node.inputs[0] ?? '';
    const output = node.outputs[0] ?? '';
    if (!graph.isGraphOutput(output)) {
      rename(graph, output, input);
      removed.add(node);
      continue;
    }
    // The identity feeds a graph output: let the producer write the output name directly when it can.
    const producer = producers.get(input);
    if (producer && !graph.isGraphOutput(input)) {
      producer.outputs = producer.outputs.map((o) => (o === input ? output : o));
      rename(graph, input, output);
      producers.set(output, producer);
      removed.add(node);
    } else {
      node.op = 'Identity';
      node.attrs = {};
    }
  }
  graph.nodes = graph.nodes.filter((n) => !removed.has(n));
}

function fusePads(graph: IrGraph): void {
  const consumers = graph.consumers();
  const removed = new Set<IrNode>();
  for (const pad of graph.nodes) {
    if (pad.op !== 'Pad' || (pad.attrs.mode ?? 'constant') !== 'constant') continue;
    const pads = graph.initializers.get(pad.inputs[1] ?? '');
    if (!pads || pads.dtype !== 'int64' || pads.data.length !== 8) continue;
    const [n0, c0, t, l, n1, c1, b, r] = pads.data as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    if (n0 || c0 || n1 || c1 || t < 0 || l < 0 || b < 0 || r < 0) continue;
    const valueInit = pad.inputs[2] ? graph.initializers.get(pad.inputs[2]) : undefined;
    const value = valueInit ? (valueInit.data[0] ?? 0) : 0;
    const next = onlyConsumer(graph, consumers, pad.outputs[0] ?? '');
    if (!next || next.inputs[0] !== pad.outputs[0]) continue;
    // Conv pads with zeros, MaxPool with -inf: only those values move into the op.
    const fits = (next.op === 'Conv' && value === 0) || (next.op === 'MaxPool' && value === -Infinity);
    if (!fits) continue;
    const own = (next.attrs.pads as number[] | undefined) ?? [0, 0, 0, 0];
    next.attrs.pads = [t + (own[0] ?? 0), l + (own[1] ?? 0), b + (own[2] ?? 0), r + (own[3] ?? 0)];
    next.inputs[0] = pad.inputs[0] ?? '';
    removed.add(pad);
  }
  graph.nodes = graph.nodes.filter((n) => !removed.has(n));
}

function removeDead(graph: IrGraph): void {
  for (;;) {
    const used = new Set(graph.outputs.map((o) => o.name));
    for (const node of graph.nodes) for (const i of node.inputs) used.add(i);
    const before = graph.nodes.length;
    graph.nodes = graph.nodes.filter((n) => n.outputs.some((o) => used.has(o)));
    if (graph.nodes.length === before) {
      for (const name of [...graph.initializers.keys()]) if (!used.has(name)) graph.initializers.delete(name);
      return;
    }
  }
}
