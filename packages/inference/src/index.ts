export type {
  ClassifyOptions,
  ClassifyTimings,
  ImageClassification,
  ImageInfo,
  InferencePool,
} from './types.ts';
export {
  createInferencePool,
  type InferencePoolExtras,
  type InferencePoolOptions,
  type PoolLogger,
} from './pool.ts';
export { FAIL_ON, FLATTEN_BACKGROUND } from './image/decode.ts';
export { pixelsToTensor } from './image/tensor.ts';
export { LETTERBOX_BACKGROUND, contentRect } from './image/resize.ts';
export { activate, topLabels } from './postprocess/classify.ts';
