import sharp, { type Metadata, type SharpOptions } from 'sharp';
import { decodeTarget, type ModelInputSize } from './decode-target.ts';
import { LabelqError } from '@labelq/errors';
import {
  describeUnsupported,
  sniffFormat,
  unsupportedFormatMessage,
  type ImageFormat,
} from '@labelq/contracts';

/**
 * Pixels decoded once per image: 8-bit sRGB, 3 channels (RGB), interleaved, upright, at the smallest size that
 * serves every model the image is for (or full size). Every model resizes from this one buffer; it is the
 * thread's single copy of the image's pixels (image properties computed in the thread read it too).
 */
export interface DecodedImage {
  format: ImageFormat;
  /** Width and height of `data`: the upright image, shrunk on load when the models need fewer pixels. */
  width: number;
  height: number;
  /** width * height * 3 bytes, row-major RGB. */
  data: Buffer;
  /** The upright original's size (after EXIF auto-orientation, before any shrinking): what results report. */
  original: { width: number; height: number };
}

export interface DecodeOptions {
  /** Images with more pixels (width x height of the first frame) fail with `image_too_large`. */
  maxInputPixels: number;
  /**
   * The inputs of the models the pixels are for: decoding shrinks on load (JPEG DCT scaling, WebP scaled
   * decoding, then a lanczos3 reduce) to the smallest size that serves all of them ({@link decodeTarget}).
   * Default: none, i.e. full size.
   */
  models?: readonly ModelInputSize[];
}

/**
 * What transparent pixels are composited onto. White: logos, stickers and product shots with a transparent
 * background look like they would on a web page, which is what the classifiers were trained on.
 */
export const FLATTEN_BACKGROUND = { r: 255, g: 255, b: 255 } as const;

/**
 * sharp `failOn`: 'truncated' rejects truncated files (a half-uploaded JPEG would otherwise decode with a grey
 * bottom half and be classified as if nothing were wrong) but tolerates mere warnings (e.g. junk after the
 * end-of-image marker, common in camera JPEGs), which sharp's default 'warning' would reject.
 */
export const FAIL_ON = 'truncated' as const;

/**
 * Decodes an encoded image into upright 8-bit sRGB RGB pixels: format allow-list by magic bytes, pixel limit
 * checked from the header before any decoding, EXIF auto-orient, alpha flattened onto white, CMYK / 16-bit /
 * greyscale / palette converted to 8-bit sRGB, animated GIF/WebP reduced to their first frame.
 *
 * Throws LabelqError: `image_empty`, `unsupported_format`, `image_too_large`, `image_decode_failed`.
 * Runs in a pool thread (sharp work blocks a libuv thread; the pool bounds it).
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions): Promise<DecodedImage> {
  if (bytes.byteLength === 0) throw new LabelqError('image_empty');
  const format = sniffFormat(bytes);
  if (format === undefined) {
    throw new LabelqError('unsupported_format', unsupportedFormatMessage(bytes), {
      details: { format: describeUnsupported(bytes) },
    });
  }
  // sharp wraps (does not copy) Buffers; a Buffer view over the same memory avoids a copy.
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sharpOptions: SharpOptions = {
    failOn: FAIL_ON,
    // Our own check below runs first with a clearer error; this is the backstop inside libvips.
    limitInputPixels: options.maxInputPixels,
    // First frame only for animated GIF/WebP (sharp's default, stated for the reader).
    pages: 1,
    sequentialRead: true,
  };

  let meta: Metadata;
  try {
    // Header only: no pixel limit here so our own check below reports the size in its message and details.
    meta = await sharp(input, { ...sharpOptions, limitInputPixels: false }).metadata();
  } catch (err) {
    throw decodeError(err, format);
  }
  if (meta.format !== undefined && !formatMatches(format, meta.format)) {
    throw new LabelqError(
      'image_decode_failed',
      `Image header says ${format} but sharp read ${meta.format}`,
      {
        details: { format },
      },
    );
  }
  const width = meta.width;
  const height = meta.pageHeight ?? meta.height;
  // EXIF orientations 5-8 swap the axes; models and results see the upright image.
  const upright = (meta.orientation ?? 1) >= 5 ? { width: height, height: width } : { width, height };
  if (!width || !height)
    throw new LabelqError('image_decode_failed', 'Image has no dimensions', { details: { format } });
  // Header-only check: a 20000x20000 PNG is ~1 MB compressed; we refuse it before allocating 1.2 GB.
  if (width * height > options.maxInputPixels) {
    throw new LabelqError(
      'image_too_large',
      `Image is ${width}x${height} (${width * height} pixels); the limit is ${options.maxInputPixels}`,
      { details: { width, height, maxInputPixels: options.maxInputPixels } },
    );
  }

  const target = decodeTarget(options.models ?? [], upright.width, upright.height);
  try {
    let pipeline = sharp(input, sharpOptions).autoOrient();
    // One resize in the decode pipeline lets libvips shrink on load (libjpeg decodes at 1/2, 1/4 or 1/8 scale,
    // libwebp at any scale): a 12 MP phone photo is never materialised at full size. The target is in upright
    // pixels: sharp applies the EXIF rotation first. Lanczos3 (sharp's default) keeps the detail the models'
    // own resize then samples from.
    if (target !== undefined) pipeline = pipeline.resize(target.width, target.height, { fit: 'fill' });
    const { data, info } = await pipeline
      .flatten({ background: FLATTEN_BACKGROUND })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) {
      throw new LabelqError('image_decode_failed', `Decoded to ${info.channels} channels, expected 3`);
    }
    return { format, width: info.width, height: info.height, data, original: upright };
  } catch (err) {
    throw decodeError(err, format);
  }
}

function formatMatches(sniffed: ImageFormat, sharpFormat: string): boolean {
  // sharp reports AVIF as 'heif'.
  if (sniffed === 'avif') return sharpFormat === 'heif' || sharpFormat === 'avif';
  return sharpFormat === sniffed;
}

function decodeError(err: unknown, format: ImageFormat): LabelqError {
  if (err instanceof LabelqError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/exceeds pixel limit/i.test(message)) {
    return new LabelqError('image_too_large', message, { cause: err, details: { format } });
  }
  // e.g. HEIC with HEVC: libheif in sharp's prebuilt binaries has no HEVC decoder.
  if (/unsupported (codec|feature)|no decoding plugin/i.test(message)) {
    return new LabelqError('unsupported_format', `Unsupported ${format} variant: ${message}`, {
      cause: err,
      details: { format },
    });
  }
  return new LabelqError('image_decode_failed', `Could not decode ${format}: ${message}`, {
    cause: err,
    details: { format },
  });
}
