import { ModelConversionError } from '../errors.ts';

/** A reference to one output of one call of a layer: Keras' `[layer_name, node_index, tensor_index]`. */
export interface TensorRef {
  layer: string;
  node: number;
  tensor: number;
}

export interface KerasLayer {
  className: string;
  name: string;
  config: Record<string, unknown>;
  /** One entry per call of the layer (shared layers have several); each lists the call's input tensors. */
  inbound: TensorRef[][];
}

/** A Keras model in one normalised form, whether it was saved as a functional Model or as a Sequential. */
export interface KerasGraph {
  name: string;
  layers: KerasLayer[];
  inputs: TensorRef[];
  outputs: TensorRef[];
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads the `modelTopology` of a TF.js layers model: either `{keras_version, model_config: {class_name,
 * config}}` (what the Keras converter writes) or the bare `{class_name, config}`. Supports functional models
 * (`Model`/`Functional`, Keras 2 and Keras 3 inbound-node formats) and `Sequential` ones.
 */
export function parseTopology(modelTopology: unknown): KerasGraph {
  if (!isObject(modelTopology)) throw new ModelConversionError('modelTopology is not an object');
  const modelConfig = isObject(modelTopology.model_config) ? modelTopology.model_config : modelTopology;
  const className = modelConfig.class_name;
  const config = modelConfig.config;
  switch (className) {
    case 'Model':
    case 'Functional':
      if (!isObject(config)) throw new ModelConversionError(`${className} topology has no config object`);
      return parseFunctional(config);
    case 'Sequential':
      return parseSequential(config);
    default:
      throw new ModelConversionError(
        `unsupported model class ${JSON.stringify(className)}: expected Model or Sequential`,
        {
          modelClass: className,
        },
      );
  }
}

function parseLayerBase(raw: unknown, index: number): Omit<KerasLayer, 'inbound'> & { rawInbound: unknown } {
  if (!isObject(raw) || typeof raw.class_name !== 'string' || !isObject(raw.config)) {
    throw new ModelConversionError(`layer #${index} has no class_name/config`);
  }
  const name = typeof raw.name === 'string' ? raw.name : raw.config.name;
  if (typeof name !== 'string' || name === '') throw new ModelConversionError(`layer #${index} has no name`);
  return { className: raw.class_name, name, config: raw.config, rawInbound: raw.inbound_nodes };
}

function parseFunctional(config: Json): KerasGraph {
  if (!Array.isArray(config.layers)) throw new ModelConversionError('model config has no layers list');
  const names = new Set<string>();
  const layers = config.layers.map((raw, i): KerasLayer => {
    const { rawInbound, ...layer } = parseLayerBase(raw, i);
    if (names.has(layer.name)) throw new ModelConversionError(`two layers are named "${layer.name}"`);
    names.add(layer.name);
    const inbound = rawInbound === undefined ? [] : rawInbound;
    if (!Array.isArray(inbound))
      throw new ModelConversionError(`layer "${layer.name}": inbound_nodes is not a list`);
    return { ...layer, inbound: inbound.map((node) => parseInboundNode(node, layer.name)) };
  });
  return {
    name: typeof config.name === 'string' ? config.name : 'model',
    layers,
    inputs: parseRefList(config.input_layers, 'input_layers'),
    outputs: parseRefList(config.output_layers, 'output_layers'),
  };
}

/** Keras 2: `[[name, node, tensor, kwargs], ...]`; Keras 3: `{args: [...], kwargs: {...}}` with keras tensors. */
function parseInboundNode(node: unknown, layerName: string): TensorRef[] {
  if (Array.isArray(node)) {
    return node.map((entry) => {
      const ref = parseRef(entry);
      if (!ref)
        throw new ModelConversionError(
          `layer "${layerName}": cannot read inbound node entry ${JSON.stringify(entry)}`,
        );
      return ref;
    });
  }
  if (isObject(node) && Array.isArray(node.args)) {
    const refs: TensorRef[] = [];
    collectKerasTensors(node.args, refs);
    return refs;
  }
  throw new ModelConversionError(`layer "${layerName}": cannot read inbound node ${JSON.stringify(node)}`);
}

function collectKerasTensors(value: unknown, into: TensorRef[]): void {
  if (Array.isArray(value)) {
    for (const v of value) collectKerasTensors(v, into);
  } else if (isObject(value) && value.class_name === '__keras_tensor__' && isObject(value.config)) {
    const ref = parseRef(value.config.keras_history);
    if (ref) into.push(ref);
  }
}

function parseRef(entry: unknown): TensorRef | undefined {
  if (!Array.isArray(entry) || entry.length < 3) return undefined;
  const [layer, node, tensor] = entry as unknown[];
  if (typeof layer !== 'string' || typeof node !== 'number' || typeof tensor !== 'number') return undefined;
  return { layer, node, tensor };
}

function parseRefList(value: unknown, what: string): TensorRef[] {
  if (!Array.isArray(value)) throw new ModelConversionError(`model config has no ${what}`);
  // A single output may be written as one triple instead of a list of triples.
  const single = parseRef(value);
  if (single) return [single];
  return value.map((v) => {
    const ref = parseRef(v);
    if (!ref) throw new ModelConversionError(`cannot read ${what} entry ${JSON.stringify(v)}`);
    return ref;
  });
}

/** A Sequential model becomes a chain: an InputLayer (synthesised from the first layer when absent) then each layer. */
function parseSequential(config: unknown): KerasGraph {
  const rawLayers = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(rawLayers) || rawLayers.length === 0) {
    throw new ModelConversionError('Sequential model has no layers');
  }
  const name = isObject(config) && typeof config.name === 'string' ? config.name : 'sequential';
  const parsed = rawLayers.map((raw, i) => {
    const { rawInbound: _ignored, ...layer } = parseLayerBase(raw, i);
    return layer;
  });
  const layers: KerasLayer[] = [];
  const first = parsed[0]!;
  if (first.className !== 'InputLayer') {
    const shape = first.config.batch_input_shape ?? first.config.batch_shape;
    const inputShape = first.config.input_shape;
    const batchShape = Array.isArray(shape)
      ? shape
      : Array.isArray(inputShape)
        ? [null, ...(inputShape as unknown[])]
        : undefined;
    if (!batchShape) {
      throw new ModelConversionError(
        `Sequential model: the first layer "${first.name}" declares no batch_input_shape`,
      );
    }
    layers.push({
      className: 'InputLayer',
      name: `${first.name}_input`,
      config: { batch_input_shape: batchShape, dtype: first.config.dtype ?? 'float32' },
      inbound: [],
    });
  }
  for (const layer of parsed) {
    const prev = layers.at(-1);
    layers.push({ ...layer, inbound: prev ? [[{ layer: prev.name, node: 0, tensor: 0 }]] : [] });
  }
  if (new Set(layers.map((l) => l.name)).size !== layers.length) {
    throw new ModelConversionError('Sequential model has two layers with the same name');
  }
  return {
    name,
    layers,
    inputs: [{ layer: layers[0]!.name, node: 0, tensor: 0 }],
    outputs: [{ layer: layers.at(-1)!.name, node: 0, tensor: 0 }],
  };
}
