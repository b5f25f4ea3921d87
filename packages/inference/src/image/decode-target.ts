import type { ModelManifest } from '@labelq/models';

/** What decoding needs to know of a model's input: its tensor size, fit, and optional larger source box. */
export type ModelInputSize = Pick<ModelManifest['input'], 'width' | 'height' | 'fit' | 'decodeSize'>;

export interface Size {
  width: number;
  height: number;
}

/**
 * The smallest scale, relative to the upright original (`srcWidth` x `srcHeight`), at which a decoded image
 * still has at least as many pixels in each direction as the model samples from it, so that the model's own
 * resize from the decoded buffer is a downscale (or identity) on both axes, as it was from the full-size image.
 * Pure.
 *
 * - `fill` stretches each axis independently: the axis shrunk least decides.
 * - `contain` letterboxes: one scale for both axes, the smaller one.
 * - `cover` crops the centre: one scale for both axes, the larger one.
 *
 * The box is `decodeSize` when the manifest sets it (a model that reads more detail than its tensor holds),
 * else the tensor's own size.
 */
export function requiredScale(input: ModelInputSize, srcWidth: number, srcHeight: number): number {
  const box = input.decodeSize ?? input;
  const sx = box.width / srcWidth;
  const sy = box.height / srcHeight;
  return input.fit === 'contain' ? Math.min(sx, sy) : Math.max(sx, sy);
}

/**
 * How much larger than a model's need the decoded image is. The models were validated (and trained) on their
 * own kernel reducing a large image; if decoding already reduced to exactly the model's size, the model's
 * kernel would do nothing and the decode's lanczos3 alone would shape the pixels: on the fixture photos that
 * moved an NSFW confidence by 0.31 (cameraman, 512 px square, decoded straight to 224). Leaving the model's
 * own resize a reduction of at least 1.5x kept every fixture label within 0.026 of the full-size decode
 * (2x: within 0.024, but a 12 MP JPEG then decodes at 1/2 instead of 1/4 scale, about 4x the pixels).
 */
export const DECODE_MARGIN = 1.5;

/**
 * The size to decode an upright `srcWidth` x `srcHeight` image at so that every model in `inputs` is served
 * (the largest {@link requiredScale} over them, times {@link DECODE_MARGIN}), keeping the aspect ratio; `undefined` when that is the full
 * size (a model needs every pixel, or there are no models). Decoding never upscales: a model that needs more
 * pixels than the image has upsamples from the full-size image as before. Pure.
 */
export function decodeTarget(
  inputs: readonly ModelInputSize[],
  srcWidth: number,
  srcHeight: number,
): Size | undefined {
  if (inputs.length === 0) return undefined;
  const scale = DECODE_MARGIN * Math.max(...inputs.map((i) => requiredScale(i, srcWidth, srcHeight)));
  if (!(scale < 1)) return undefined;
  // Round up: a pixel short of the need would make the model's resize an upscale on that axis.
  // (The epsilon keeps 3024 * (416 / 3024) at 416, not 417.)
  const width = Math.min(srcWidth, Math.max(1, Math.ceil(srcWidth * scale - 1e-9)));
  const height = Math.min(srcHeight, Math.max(1, Math.ceil(srcHeight * scale - 1e-9)));
  return width === srcWidth && height === srcHeight ? undefined : { width, height };
}
