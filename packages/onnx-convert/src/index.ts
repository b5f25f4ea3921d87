export { GraphBuilder, float, type AttributeValue, type Dim } from './onnx/graph-builder.ts';
export { DataType } from './onnx/onnx-proto.ts';
export * from './graph/index.ts';
export {
  convertLayersModel,
  type ConvertLayersOptions,
  type ConvertedLayersModel,
  type LayersModelArtifacts,
} from './layers/index.ts';
export { readNsfwjsModel, type NsfwjsModel, type NsfwjsPackage } from './sources/nsfwjs.ts';
