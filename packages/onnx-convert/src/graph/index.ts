export {
  convertGraphModel,
  SUPPORTED_TF_OPS,
  type ConvertGraphModelOptions,
  type ConvertGraphModelResult,
} from './convert.ts';
export {
  readGraphModelFiles,
  decodeWeights,
  halfToFloat,
  type LoadedGraphModel,
  type TfjsGraphModelJson,
  type TfNode,
  type ConstTensor,
} from './tfjs-model.ts';
