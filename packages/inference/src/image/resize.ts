import sharp from 'sharp';
import type { ModelManifest } from '@labelq/models';
import type { DecodedImage } from './decode.ts';

type InputSpec = ModelManifest['input'];

/** Where the original image lies inside the model input, in model-input pixels (for mapping boxes back). */
export interface ContentRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Letterbox colour for `fit: 'contain'`. Black: padding then reads as "nothing here" for detectors trained with
 * zero padding, and it is what sharp uses for contain with opaque output.
 */
export const LETTERBOX_BACKGROUND = { r: 0, g: 0, b: 0 } as const;

/**
 * Resizes already-decoded pixels to the model's input size per its manifest (`fit`, `kernel`). The decoded
 * image is reused for every model: decoding happens once per image.
 */
export async function resizeForModel(
  image: DecodedImage,
  input: InputSpec,
): Promise<{ pixels: Buffer; content: ContentRect }> {
  const pixels = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(input.width, input.height, {
      fit: input.fit,
      kernel: input.kernel,
      background: LETTERBOX_BACKGROUND,
    })
    .removeAlpha()
    .raw()
    .toBuffer();
  return { pixels, content: contentRect(image.width, image.height, input) };
}

/** The original image's rectangle in model-input pixels for each fit (cover may extend past the edges). Pure. */
export function contentRect(srcWidth: number, srcHeight: number, input: InputSpec): ContentRect {
  const W = input.width;
  const H = input.height;
  switch (input.fit) {
    case 'fill':
      return { x: 0, y: 0, width: W, height: H };
    case 'contain':
    case 'cover': {
      const s =
        input.fit === 'contain'
          ? Math.min(W / srcWidth, H / srcHeight)
          : Math.max(W / srcWidth, H / srcHeight);
      const width = Math.round(srcWidth * s);
      const height = Math.round(srcHeight * s);
      return { x: Math.floor((W - width) / 2), y: Math.floor((H - height) / 2), width, height };
    }
  }
}
