import { z } from 'zod';

/**
 * A 64-bit perceptual hash as 16 lower-case hex digits (JSON has no 64-bit integers). pHash: the signs of the
 * 8x8 lowest-frequency DCT coefficients of a 32x32 grey thumbnail relative to their median; copies that were
 * re-encoded, resized or lightly edited differ in a few bits, unrelated photos in about 32.
 */
export const perceptualHashSchema = z.string().regex(/^[0-9a-f]{16}$/, '16 hex digits');

/** One of an image's dominant colours: `#rrggbb` (the mean of its bin) and the share of pixels in it. */
export const dominantColourSchema = z.object({
  hex: z.string().regex(/^#[0-9a-f]{6}$/),
  share: z.number().min(0).max(1),
});
export type DominantColour = z.infer<typeof dominantColourSchema>;

/**
 * Properties of the decoded pixels, computed in the pool thread next to the models (well under 1 ms: from a
 * bounded sample grid, never every pixel of a large image). Optional in result documents: documents written
 * before they existed have none.
 */
export const imagePropertiesSchema = z.object({
  /** Version of the algorithms below; hashes of different versions are not comparable. */
  v: z.literal(1),
  phash: perceptualHashSchema,
  /** Up to 5 colours, largest share first. */
  colours: z.array(dominantColourSchema).max(5),
  /** Mean luma (Rec. 601) in [0, 1]: 0 black, 1 white. */
  brightness: z.number().min(0).max(1),
  /**
   * Variance of the Laplacian of the luma (0-255 scale) on a grid of at most 256 px on the long side. Higher is
   * sharper; below {@link BLURRY_SHARPNESS} an image counts as blurry.
   */
  sharpness: z.number().nonnegative(),
});
export type ImageProperties = z.infer<typeof imagePropertiesSchema>;

/**
 * Sharpness below which an image is blurry (`blurry=true` in search). 100 is the usual cut-off for the variance
 * of the Laplacian on 8-bit luma (Pech-Pacheco et al. 2000, as popularised for OpenCV); the fixtures' photos
 * score far above it and their Gaussian-blurred copies (sigma 3) far below.
 */
export const BLURRY_SHARPNESS = 100;
