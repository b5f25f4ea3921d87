export { GraphBuilder, float, type AttributeValue, type Dim } from './onnx/graph-builder.ts';
export { DataType } from './onnx/onnx-proto.ts';
export * from './graph/index.ts';
export { UnsupportedLayerError, ModelConversionError } from './errors.ts';
export {
  convertLayersModel,
  LAYERS_CONVERTER_VERSION,
  type ConvertLayersOptions,
  type ConvertedLayersModel,
  type LayersModelArtifacts,
} from './layers/index.ts';
export { locateNsfwjs, readNsfwjsModel, type NsfwjsModel, type NsfwjsPackage } from './sources/nsfwjs.ts';
