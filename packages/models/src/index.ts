export {
  manifestSchema,
  type ModelManifest,
  type ClassifyManifest,
  type DetectManifest,
  type FacesManifest,
  type TextManifest,
  type NanodetManifest,
  type CenternetManifest,
  type ModelTask,
  type ManifestInput,
} from './manifest.ts';
export { loadModels, readManifest, sidecarFiles, type LoadedModel } from './load.ts';
