export {
  manifestSchema,
  type ModelManifest,
  type ClassifyManifest,
  type DetectManifest,
  type ManifestInput,
} from './manifest.ts';
export {
  RESULT_SCHEMA_VERSION,
  type ModelRef,
  type LabelScore,
  type Box,
  type Instance,
  type ModelResult,
} from './result.ts';
export { loadModels, readManifest, sha256File, type LoadedModel } from './load.ts';
