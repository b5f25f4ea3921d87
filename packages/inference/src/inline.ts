// A second public entry point, `@labelq/inference/inline`: the pieces a pool thread runs (decode, one ORT
// session per model, run + postprocess), for benchmarks that deliberately run them on the calling thread to
// compare designs. Production code uses the pool (`@labelq/inference`): session.run() blocks its thread.
export { decodeImage, type DecodedImage } from './image/decode.ts';
export { decodeTarget, requiredScale, type ModelInputSize } from './image/decode-target.ts';
export { createThreadModel, runModel, type ThreadModel } from './thread/run-model.ts';
export {
  ANIMAL_CLASSES,
  FACE_INSIDE_FRACTION,
  fractionInside,
  suppressAnimalFaces,
} from './postprocess/animal-faces.ts';
