export {
  manifestSchema,
  type ModelManifest,
  type ClassifyManifest,
  type DetectManifest,
  type ManifestInput,
} from './manifest.ts';
export { loadModels, readManifest, type LoadedModel } from './load.ts';
