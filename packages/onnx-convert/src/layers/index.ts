export {
  convertLayersModel,
  LAYERS_CONVERTER_VERSION,
  type ConvertLayersOptions,
  type ConvertedLayersModel,
} from './convert.ts';
export { LAYER_HANDLERS } from './handlers.ts';
export { parseTopology, type KerasGraph, type KerasLayer, type TensorRef } from './topology.ts';
export { decodeWeights, type LayersModelArtifacts, type WeightSpec, type Weight } from './weights.ts';
