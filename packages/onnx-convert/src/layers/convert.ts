import { ModelConversionError, UnsupportedLayerError } from '../errors.ts';
import { GraphBuilder, type Dim } from '../onnx/graph-builder.ts';
import { ConversionState, LayerCall, type KTensor } from './context.ts';
import { LAYER_HANDLERS } from './handlers.ts';
import { parseTopology, type KerasLayer, type TensorRef } from './topology.ts';
import { decodeWeights, type LayersModelArtifacts } from './weights.ts';

export interface ConvertLayersOptions {
  /**
   * Layout of a rank-4 (image) input. 'NHWC' (default) keeps the Keras layout, so a decoded RGB image is fed as
   * is and one Transpose at the input switches to NCHW; 'NCHW' expects channels first and needs no transpose.
   * Inside the graph every rank-4 tensor is NCHW either way.
   */
  inputLayout?: 'NHWC' | 'NCHW';
  /** Name of the ONNX input. Default `input`. */
  inputName?: string;
  /** Name of the ONNX output. Default `output`. */
  outputName?: string;
  /** Symbolic name of the (dynamic) batch dimension. Default `batch`. */
  batchDim?: string;
  /** ONNX graph name. Default: the Keras model name. */
  graphName?: string;
  /** ONNX opset. Default 13. */
  opset?: number;
  docString?: string;
  /** Written to ModelProto.metadata_props. */
  metadata?: Record<string, string>;
}

export interface ConvertedLayersModel {
  /** The serialised ONNX model; identical bytes for identical inputs and options. */
  bytes: Uint8Array;
  input: { name: string; dims: Dim[]; layout: 'NHWC' | 'NCHW' | 'none' };
  output: { name: string; dims: Dim[] };
  /** Keras layer calls converted (identity layers included). */
  layerCount: number;
  nodeCount: number;
}

/** Version of the layers converter's output: bump when the emitted graph changes for the same model. */
export const LAYERS_CONVERTER_VERSION = '1';

const refKey = (ref: TensorRef): string => `${ref.layer}:${ref.node}:${ref.tensor}`;

/**
 * Converts a TF.js layers model (Keras topology + weights) into an ONNX model: one input (dynamic batch), one
 * output. Keras computes channels-last; the ONNX graph transposes the image input once and stays NCHW
 * inside, so convolutions, pooling and batch norm map to their native ONNX ops (the Flatten/Dense and
 * Concatenate axis logic accounts for the layout). Only the layers reachable from the output are converted.
 *
 * Throws UnsupportedLayerError for a layer class, activation or option it cannot express, and
 * ModelConversionError for a malformed or inconsistent model (both code `model_unsupported`).
 */
export function convertLayersModel(
  artifacts: LayersModelArtifacts,
  options: ConvertLayersOptions = {},
): ConvertedLayersModel {
  const graph = parseTopology(artifacts.modelTopology);
  const weights = decodeWeights(artifacts.weightSpecs, artifacts.weightData);
  if (graph.inputs.length !== 1 || graph.outputs.length !== 1) {
    throw new ModelConversionError(
      `models with ${graph.inputs.length} inputs and ${graph.outputs.length} outputs are not supported (only 1 and 1)`,
    );
  }
  const inputRef = graph.inputs[0]!;
  const outputRef = graph.outputs[0]!;
  const inputName = options.inputName ?? 'input';
  const outputName = options.outputName ?? 'output';
  const batchDim = options.batchDim ?? 'batch';
  const layout = options.inputLayout ?? 'NHWC';

  const builder = new GraphBuilder(options.graphName ?? graph.name);
  if (builder.uniqueName(outputName) !== outputName)
    throw new ModelConversionError(`bad output name ${outputName}`);
  const state = new ConversionState(builder, weights);
  const layers = new Map(graph.layers.map((l) => [l.name, l]));
  const order = callOrder(layers, outputRef);

  const values = new Map<string, KTensor>();
  let inputLayout: ConvertedLayersModel['input']['layout'] = 'none';
  let inputDims: Dim[] = [];
  for (const { layer, node } of order) {
    if (layer.className === 'InputLayer') {
      if (layer.name !== inputRef.layer) {
        throw new ModelConversionError(
          `input layer "${layer.name}" is not the model input "${inputRef.layer}"`,
        );
      }
      const made = addInput(builder, layer, { inputName, batchDim, layout });
      inputLayout = made.layout;
      inputDims = made.dims;
      values.set(refKey({ layer: layer.name, node: 0, tensor: 0 }), made.tensor);
      continue;
    }
    const handler = Object.hasOwn(LAYER_HANDLERS, layer.className)
      ? LAYER_HANDLERS[layer.className]
      : undefined;
    if (!handler) {
      throw new UnsupportedLayerError(
        layer.className,
        layer.name,
        'class_name',
        `layer class ${layer.className} is not supported`,
      );
    }
    const inputs = layer.inbound[node]!.map((ref) => {
      const v = values.get(refKey(ref));
      if (!v)
        throw new ModelConversionError(`layer "${layer.name}" reads ${refKey(ref)}, which no layer produced`);
      return v;
    });
    const outputs = handler(new LayerCall(state, layer, inputs));
    outputs.forEach((tensor, i) => values.set(refKey({ layer: layer.name, node, tensor: i }), tensor));
  }

  const converted = new Set(order.map((c) => c.layer.name));
  const unused = [...weights.keys()].filter(
    (w) => !state.usedWeights.has(w) && converted.has(w.slice(0, w.lastIndexOf('/'))),
  );
  if (unused.length > 0) {
    throw new ModelConversionError(`weights not used by their layer: ${unused.join(', ')}`, {
      weights: unused,
    });
  }

  const result = values.get(refKey(outputRef));
  if (!result) throw new ModelConversionError(`the model output ${refKey(outputRef)} was not produced`);
  // Hand the output back in Keras order (a rank-4 output is stored NCHW inside).
  const rank = result.shape.length;
  builder.addNode(
    rank === 4 ? 'Transpose' : 'Identity',
    [result.name],
    [outputName],
    rank === 4 ? { perm: [0, 2, 3, 1] } : {},
  );
  const outputDims: Dim[] = result.shape.map((d, i) => (i === 0 ? batchDim : (d ?? `${outputName}_${i}`)));
  builder.addOutput(outputName, outputDims);

  const bytes = builder.toBytes({
    opset: options.opset ?? 13,
    producerVersion: `layers-${LAYERS_CONVERTER_VERSION}`,
    ...(options.docString !== undefined ? { docString: options.docString } : {}),
    ...(options.metadata !== undefined ? { metadata: options.metadata } : {}),
  });
  return {
    bytes,
    input: { name: inputName, dims: inputDims, layout: inputLayout },
    output: { name: outputName, dims: outputDims },
    layerCount: order.length,
    nodeCount: builder.nodeCount,
  };
}

interface Call {
  layer: KerasLayer;
  node: number;
}

/** The layer calls the output depends on, each after its inputs (depth-first post-order: deterministic). */
function callOrder(layers: Map<string, KerasLayer>, output: TensorRef): Call[] {
  const order: Call[] = [];
  const done = new Set<string>();
  const active = new Set<string>();
  const visit = (ref: TensorRef, from: string): void => {
    const layer = layers.get(ref.layer);
    if (!layer) throw new ModelConversionError(`${from} refers to an unknown layer "${ref.layer}"`);
    const key = `${ref.layer}:${ref.node}`;
    if (done.has(key)) return;
    if (active.has(key))
      throw new ModelConversionError(`the topology has a cycle through layer "${ref.layer}"`);
    const inbound = layer.className === 'InputLayer' ? [] : layer.inbound[ref.node];
    if (inbound === undefined) {
      throw new ModelConversionError(
        `${from} refers to call #${ref.node} of layer "${ref.layer}", which has ${layer.inbound.length}`,
      );
    }
    if (layer.className !== 'InputLayer' && inbound.length === 0) {
      throw new ModelConversionError(`layer "${layer.name}" has no inputs`);
    }
    active.add(key);
    for (const input of inbound) visit(input, `layer "${layer.name}"`);
    active.delete(key);
    done.add(key);
    order.push({ layer, node: ref.node });
  };
  visit(output, 'the model output');
  return order;
}

function addInput(
  builder: GraphBuilder,
  layer: KerasLayer,
  opts: { inputName: string; batchDim: string; layout: 'NHWC' | 'NCHW' },
): { tensor: KTensor; dims: Dim[]; layout: 'NHWC' | 'NCHW' | 'none' } {
  const shapeValue = layer.config.batch_input_shape ?? layer.config.batch_shape;
  if (
    !Array.isArray(shapeValue) ||
    !shapeValue.every((d) => d === null || (typeof d === 'number' && Number.isInteger(d) && d > 0))
  ) {
    throw new UnsupportedLayerError(
      'InputLayer',
      layer.name,
      'batch_input_shape',
      `batch_input_shape ${JSON.stringify(shapeValue)} is not supported`,
    );
  }
  const dtype = layer.config.dtype ?? 'float32';
  if (dtype !== 'float32') {
    throw new UnsupportedLayerError(
      'InputLayer',
      layer.name,
      'dtype',
      `input dtype ${JSON.stringify(dtype)} is not supported (only float32)`,
    );
  }
  if (layer.config.sparse === true || layer.config.ragged === true) {
    throw new UnsupportedLayerError(
      'InputLayer',
      layer.name,
      'sparse',
      'sparse or ragged inputs are not supported',
    );
  }
  const shape = [null, ...(shapeValue.slice(1) as (number | null)[])];
  if (shape.length !== 4) {
    const dims = shape.map((d, i) => (i === 0 ? opts.batchDim : (d ?? `${opts.inputName}_${i}`)));
    return { tensor: { name: builder.addInput(opts.inputName, dims), shape }, dims, layout: 'none' };
  }
  const [, h, w, c] = shape;
  if (c === null) {
    throw new UnsupportedLayerError(
      'InputLayer',
      layer.name,
      'batch_input_shape',
      'the number of input channels is unknown',
    );
  }
  const height = h ?? 'height';
  const width = w ?? 'width';
  if (opts.layout === 'NCHW') {
    const dims: Dim[] = [opts.batchDim, c!, height, width];
    return { tensor: { name: builder.addInput(opts.inputName, dims), shape }, dims, layout: 'NCHW' };
  }
  const dims: Dim[] = [opts.batchDim, height, width, c!];
  const name = builder.addInput(opts.inputName, dims);
  const nchw = builder.op('Transpose', [name], `${layer.name}/to_nchw`, { perm: [0, 3, 1, 2] });
  return { tensor: { name: nchw, shape }, dims, layout: 'NHWC' };
}
