export {
  manifestSchema,
  type ModelManifest,
  type ClassifyManifest,
  type DetectManifest,
  type FacesManifest,
  type NanodetManifest,
  type CenternetManifest,
  type ModelTask,
  type ManifestInput,
} from './manifest.ts';
export { loadModels, readManifest, type LoadedModel } from './load.ts';
