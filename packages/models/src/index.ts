export {
  manifestSchema,
  type ModelManifest,
  type ClassifyManifest,
  type DetectManifest,
  type ManifestInput,
} from './manifest.ts';
export { loadModels, readManifest, sha256File, type LoadedModel } from './load.ts';
