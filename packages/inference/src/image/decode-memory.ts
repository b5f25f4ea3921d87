import type { ModelInputSize, Size } from './decode-target.ts';
import { decodeTarget } from './decode-target.ts';

/** What the header says, as far as decode memory goes (the fields of sharp's `metadata()` it uses). */
export interface ImageHeader {
  format: string;
  width: number;
  height: number;
  /** Height of one frame of a multi-frame image. */
  pageHeight?: number | undefined;
  /** Default 3. */
  channels?: number | undefined;
  /** sharp's sample format name (`uchar`, `ushort`, ...). Default 8-bit. */
  depth?: string | undefined;
  /** Progressive JPEG, interlaced PNG. */
  isProgressive?: boolean | undefined;
  /** JPEG chroma subsampling, e.g. `4:2:0`. */
  chromaSubsampling?: string | undefined;
  orientation?: number | undefined;
}

/** Bytes per sample for sharp's `depth` names; unknown -> 1 (8-bit), the common case. */
function sampleBytes(depth: string | undefined): number {
  switch (depth) {
    case 'ushort':
    case 'short':
      return 2;
    case 'uint':
    case 'int':
    case 'float':
      return 4;
    case 'double':
    case 'complex':
      return 8;
    case 'dpcomplex':
      return 16;
    case undefined:
    default:
      return 1;
  }
}

/**
 * JPEG components per pixel after chroma subsampling: 4:2:0 stores 1 + 2 x 1/4 = 1.5 samples per pixel,
 * 4:2:2 stores 2, 4:4:4 stores 3; a 4th (CMYK) component counts fully.
 */
function jpegSamplesPerPixel(channels: number, subsampling: string | undefined): number {
  if (channels <= 1) return 1;
  const chroma = subsampling?.startsWith('4:2:0') ? 0.25 : subsampling?.startsWith('4:2:2') ? 0.5 : 1;
  return 1 + 2 * chroma + (channels >= 4 ? 1 : 0);
}

/**
 * Rows of a non-interlaced PNG that libvips' sequential shrink keeps buffered, measured with sharp 0.35:
 * 8000x8000 and 8000x2000 RGB PNGs shrunk to 416-1664 px peaked at ~48 MB above baseline, a 4000 px wide one at
 * ~26 MB, i.e. about 2,000 rows of the source whatever its height.
 */
const PNG_SEQUENTIAL_ROWS = 2048;

/**
 * Estimates the memory one image needs while it is decoded and classified, from its header alone (before any
 * pixel is decoded), for the pool's decode-memory budget. Pure. The parts, each measured with sharp 0.35 on
 * 8000x8000 images (peak RSS above baseline):
 *
 * - the decoded buffer the models read: target (or full) width x height x 3 (libvips streams the colour
 *   conversion, flatten and resize steps into it; 8000x8000 baseline JPEG at full size: ~210 MB = 192 MB + a
 *   little);
 * - the codec's own working memory, which shrink-on-load does not always avoid:
 *   - progressive JPEG keeps every DCT coefficient of the whole image (2 bytes per sample, after chroma
 *     subsampling), whatever the output scale: 8000x8000 4:2:0 -> ~200 MB, 4:4:4 -> ~390 MB;
 *   - baseline JPEG streams (a few MCU rows): ~8 MB shrunk;
 *   - WebP decodes into an RGBA buffer at the scaled size (libwebp scales while decoding) and copies it once
 *     more (8000x8000 at full size: ~520 MB, 8 bytes per pixel with the output);
 *   - non-interlaced PNG streams ~{@link PNG_SEQUENTIAL_ROWS} rows;
 *   - everything else (interlaced PNG, GIF, TIFF, AVIF/HEIF) is taken as fully decoded at source size, channels
 *     and sample depth (interlaced 8000x8000 PNG: ~230 MB);
 * - each model's resized pixels and float32 tensor (width x height x 3 x 5 bytes).
 *
 * `shrinkOnLoad: false` (the pool's full-decode mode) estimates the full-size decode.
 */
export function estimateDecodeBytes(
  header: ImageHeader,
  models: readonly ModelInputSize[],
  shrinkOnLoad = true,
): number {
  const width = header.width;
  const height = header.pageHeight ?? header.height;
  const channels = header.channels ?? 3;
  const sample = sampleBytes(header.depth);
  const upright = (header.orientation ?? 1) >= 5 ? { width: height, height: width } : { width, height };
  const target: Size =
    (shrinkOnLoad ? decodeTarget(models, upright.width, upright.height) : undefined) ?? upright;
  const shrunk = target.width * target.height < width * height;

  const decoded = target.width * target.height * 3;
  const sourcePixels = width * height;
  let codec: number;
  switch (header.format) {
    case 'jpeg':
      codec = header.isProgressive
        ? sourcePixels * jpegSamplesPerPixel(channels, header.chromaSubsampling) * 2
        : width * 256 * channels;
      break;
    case 'webp':
      codec = target.width * target.height * 5;
      break;
    case 'png':
      codec =
        header.isProgressive || !shrunk
          ? sourcePixels * channels * sample
          : width * Math.min(height, PNG_SEQUENTIAL_ROWS) * channels * sample;
      break;
    default:
      codec = sourcePixels * channels * sample;
  }
  const tensors = models.reduce((sum, m) => sum + m.width * m.height * 3 * 5, 0);
  return Math.ceil(decoded + codec + tensors);
}
