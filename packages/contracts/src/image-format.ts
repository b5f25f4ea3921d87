import { z } from 'zod';

/**
 * The one allow-list of image container formats, checked by magic bytes at the API (uploads) and again in the
 * worker (S3 objects), named like sharp names them. HEIC/HEIF is not on it: sharp's prebuilt libvips has no HEVC
 * decoder, so accepting it would only turn a clear 415 into a later `image_decode_failed` (AVIF, which is
 * HEIF with AV1, is on it).
 */
export const IMAGE_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'avif', 'tiff'] as const;
export const imageFormatSchema = z.enum(IMAGE_FORMATS);
export type ImageFormat = z.infer<typeof imageFormatSchema>;

/** Content type stored on an uploaded object, per format. */
export const CONTENT_TYPES: Readonly<Record<ImageFormat, string>> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  tiff: 'image/tiff',
};

/** File extension of a stored upload, per format. */
export const EXTENSIONS: Readonly<Record<ImageFormat, string>> = {
  jpeg: 'jpg',
  png: 'png',
  webp: 'webp',
  gif: 'gif',
  avif: 'avif',
  tiff: 'tif',
};

/** Bytes {@link sniffFormat} needs to see to decide (an ISO-BMFF `ftyp` box lists several brands). */
export const SNIFF_BYTES = 64;

const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIF_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1']);

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}

/** The brands of an ISO-BMFF `ftyp` box (major, then compatible), or undefined when there is none. */
function ftypBrands(b: Uint8Array): string[] | undefined {
  if (b.length < 12 || ascii(b, 4, 8) !== 'ftyp') return undefined;
  const boxSize = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  const end = Math.min(b.length, boxSize > 0 ? boxSize : b.length);
  // Major brand at 8..12, minor version at 12..16, then compatible brands.
  const brands = [ascii(b, 8, 12)];
  for (let o = 16; o + 4 <= end; o += 4) brands.push(ascii(b, o, o + 4));
  return brands;
}

/**
 * The format named by the data's magic bytes (never the client's content type or file name), or undefined
 * for anything not on the allow-list: SVG (rendering it parses XML and may fetch external resources), HEIC,
 * BMP, ICO, PDF, HTML, ... Pure.
 */
export function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  const b = bytes;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && ascii(b, 0, 8) === '\x89PNG\r\n\x1a\n') return 'png';
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) return 'gif';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  if (b.length >= 4 && (ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*')) return 'tiff';
  if (ftypBrands(b)?.some((x) => AVIF_BRANDS.has(x))) return 'avif';
  return undefined;
}

/**
 * The fewest bytes a decodable image of each format can have: its mandatory structures alone, so a body with the
 * right magic bytes but nothing behind them (`FF D8 FF`) is refused at upload instead of queued. JPEG: SOI, one
 * quantisation table (69), a one-component frame header (13) and a scan header (10); PNG: signature, IHDR,
 * a minimal IDAT and IEND (the known 67-byte minimum); GIF: header, screen descriptor, image descriptor and a
 * minimal LZW block; WebP: RIFF and chunk headers plus a VP8L header; TIFF: header and an IFD of three entries;
 * AVIF: an `ftyp` box and the header of the `meta` box that must follow. Lower bounds: never refuses a real image.
 */
export const MIN_IMAGE_BYTES: Readonly<Record<ImageFormat, number>> = {
  jpeg: 94,
  png: 67,
  gif: 26,
  webp: 26,
  tiff: 50,
  avif: 32,
};

/** A short name for a refused format, for error messages (`svg`, `heic`, `bmp`, ... or `unknown`). Pure. */
export function describeUnsupported(bytes: Uint8Array): string {
  const head = ascii(bytes, 0, Math.min(bytes.length, 256)).trimStart().toLowerCase();
  if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) return 'svg';
  if (ftypBrands(bytes)?.some((x) => HEIF_BRANDS.has(x))) return 'heic';
  if (bytes[0] === 0x42 && bytes[1] === 0x4d) return 'bmp';
  if (bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 1 && bytes[3] === 0) return 'ico';
  if (head.startsWith('%pdf')) return 'pdf';
  return 'unknown';
}

/** The message of an `unsupported_format` error for these bytes. */
export function unsupportedFormatMessage(bytes: Uint8Array): string {
  return `The image format (${describeUnsupported(bytes)}) is not supported: send ${IMAGE_FORMATS.join(', ')}`;
}
