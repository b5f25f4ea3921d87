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
export { imageProperties, hashDistance, type PixelsView } from './image/properties.ts';
export { decodeNanodet } from './postprocess/nanodet.ts';
export { decodeCenternet, type Detections } from './postprocess/centernet.ts';
export { decodeBlazeface, blazefaceAnchors } from './postprocess/blazeface.ts';
export { toImageBox } from './postprocess/detect.ts';
export { ByteBudget, type AcquireOptions } from './byte-budget.ts';
export { estimateDecodeBytes, type ImageHeader } from './image/decode-memory.ts';
