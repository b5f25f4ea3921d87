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
export { decodeNanodet } from './postprocess/nanodet.ts';
