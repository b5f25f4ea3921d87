// The image header fields the decode-memory estimate needs, read in plain JavaScript from the first bytes of
// JPEG, PNG, WebP and GIF files. The pool reads a header on the worker's main thread for every image; sharp's
// metadata() costs a libuv round trip, a native call and a result object, for four numbers. Every value here
// is what sharp 0.35's metadata() reports for the same bytes (header.test.ts compares them); anything this
// reader is not sure about (other formats, 12-bit JPEG, EXIF outside JPEG, odd structure) answers undefined,
// and the caller asks sharp.
import type { ImageHeader } from './decode-memory.ts';

/** How far into a JPEG we look for its SOF marker: EXIF, ICC and XMP segments come first, ~64 KB each at most. */
const JPEG_SCAN_LIMIT = 1 << 20;

/**
 * Reads the header of a JPEG, PNG, WebP or GIF image: format, size, channels, sample depth, interlacing,
 * JPEG chroma subsampling and EXIF orientation, as sharp's metadata() names them. Undefined when the bytes are
 * none of these formats or their header is anything but plainly readable. Never throws.
 */
export function readImageHeader(bytes: Uint8Array): ImageHeader | undefined {
  try {
    if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff)
      return readJpeg(bytes);
    if (startsWith(bytes, PNG_SIGNATURE)) return readPng(bytes);
    if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return readWebp(bytes);
    const gif = ascii(bytes, 0, 6);
    if (gif === 'GIF87a' || gif === 'GIF89a') return readGif(bytes);
  } catch {
    // A read past the end of a truncated file (DataView throws RangeError): let sharp decide.
  }
  return undefined;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function ascii(bytes: Uint8Array, at: number, length: number): string {
  if (at + length > bytes.length) return '';
  return String.fromCharCode(...bytes.subarray(at, at + length));
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

// ---- JPEG ----------------------------------------------------------------------------------------------------

/** SOFn markers (frame headers); C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames. */
function isSof(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Progressive frames: SOF2 (Huffman), SOF6 (differential), SOF10 and SOF14 (arithmetic). */
function isProgressiveSof(marker: number): boolean {
  return marker === 0xc2 || marker === 0xc6 || marker === 0xca || marker === 0xce;
}

/**
 * Walks the segments from SOI to the first SOF. libvips (and so sharp) names chroma subsampling from the
 * largest sampling factor only: `4:2:0` when any component is subsampled, else `4:4:4`, with `:4` appended
 * for four-component (CMYK/YCCK) images.
 */
function readJpeg(bytes: Uint8Array): ImageHeader | undefined {
  const dv = view(bytes);
  const end = Math.min(bytes.length, JPEG_SCAN_LIMIT);
  let orientation: number | undefined;
  let exifSeen = false;
  let at = 2;
  while (at + 4 <= end) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    // Markers without a length: TEM, RSTn; SOI again or EOI before a frame means a broken file.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker === 0xd8 || marker === 0xd9 || marker === 0xda) return undefined; // no frame before scan/end
    const length = dv.getUint16(at + 2);
    if (length < 2) return undefined;
    const body = at + 4;
    if (marker === 0xe1 && !exifSeen && ascii(bytes, body, 6) === 'Exif\0\0') {
      // libexif reads the first Exif segment; a later one is ignored.
      exifSeen = true;
      const read = exifOrientation(bytes.subarray(body + 6, at + 2 + length));
      if (read === null) return undefined;
      orientation = read;
    }
    if (isSof(marker)) {
      const precision = bytes[body]!;
      const height = dv.getUint16(body + 1);
      const width = dv.getUint16(body + 3);
      const components = bytes[body + 5]!;
      // 12/16-bit JPEG, a height given later (DNL), or components libvips does not load: sharp's call.
      if (precision !== 8 || height === 0 || width === 0) return undefined;
      if (components !== 1 && components !== 3 && components !== 4) return undefined;
      let maxH = 1;
      let maxV = 1;
      for (let c = 0; c < components; c++) {
        const sampling = bytes[body + 6 + c * 3 + 1]!;
        maxH = Math.max(maxH, sampling >> 4);
        maxV = Math.max(maxV, sampling & 0x0f);
      }
      const subsampled = maxH > 1 || maxV > 1;
      const chroma = `${subsampled ? '4:2:0' : '4:4:4'}${components > 3 ? ':4' : ''}`;
      return {
        format: 'jpeg',
        width,
        height,
        channels: components,
        depth: 'uchar',
        isProgressive: isProgressiveSof(marker),
        chromaSubsampling: chroma,
        ...(orientation !== undefined ? { orientation } : {}),
      };
    }
    at += 2 + length;
  }
  return undefined;
}

/**
 * The orientation (1..8) in a TIFF-structured EXIF block's first IFD; undefined when it has none or an
 * out-of-range one (libvips ignores those); null when the block is not plainly readable (the caller gives up).
 */
function exifOrientation(tiff: Uint8Array): number | undefined | null {
  if (tiff.length < 8) return null;
  const order = ascii(tiff, 0, 2);
  if (order !== 'II' && order !== 'MM') return null;
  const little = order === 'II';
  const dv = view(tiff);
  if (dv.getUint16(2, little) !== 42) return null;
  const ifd = dv.getUint32(4, little);
  if (ifd + 2 > tiff.length) return null;
  const entries = dv.getUint16(ifd, little);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > tiff.length) return null;
    if (dv.getUint16(entry, little) !== 0x0112) continue;
    const type = dv.getUint16(entry + 2, little);
    const count = dv.getUint32(entry + 4, little);
    if (type !== 3 || count !== 1) return null; // SHORT, one value: anything else is sharp's call
    const value = dv.getUint16(entry + 8, little);
    return value >= 1 && value <= 8 ? value : undefined;
  }
  return undefined;
}

// ---- PNG -----------------------------------------------------------------------------------------------------

/**
 * IHDR, then the chunks before the first IDAT (where libspng has read them when sharp asks): `tRNS` adds an
 * alpha channel; an `eXIf` orientation is left to sharp. Palette images load as RGB(A), low bit depths as 8-bit.
 */
function readPng(bytes: Uint8Array): ImageHeader | undefined {
  const dv = view(bytes);
  if (ascii(bytes, 12, 4) !== 'IHDR' || dv.getUint32(8) !== 13) return undefined;
  const width = dv.getUint32(16);
  const height = dv.getUint32(20);
  const bitDepth = bytes[24]!;
  const colorType = bytes[25]!;
  const interlace = bytes[28]!;
  if (width === 0 || height === 0 || interlace > 1) return undefined;
  const base: Record<number, number> = { 0: 1, 2: 3, 3: 3, 4: 2, 6: 4 };
  let channels = base[colorType];
  if (channels === undefined) return undefined;
  let at = 8 + 8 + 13 + 4;
  for (;;) {
    if (at + 8 > bytes.length) return undefined;
    const length = dv.getUint32(at);
    const type = ascii(bytes, at + 4, 4);
    if (type === 'IDAT' || type === 'IEND') break;
    if (type === 'eXIf') return undefined;
    // libspng ignores a tRNS whose length does not fit the colour type.
    if (type === 'tRNS' && TRNS_FITS[colorType]?.(length)) channels++;
    at += 12 + length;
  }
  return {
    format: 'png',
    width,
    height,
    channels,
    depth: bitDepth === 16 ? 'ushort' : 'uchar',
    isProgressive: interlace === 1,
  };
}

/** tRNS lengths per colour type: one 16-bit grey, one 16-bit RGB triple, or up to 256 palette alphas. */
const TRNS_FITS: Record<number, (length: number) => boolean> = {
  0: (n) => n === 2,
  2: (n) => n === 6,
  3: (n) => n >= 1 && n <= 256,
};

// ---- WebP ----------------------------------------------------------------------------------------------------

/** VP8X flags (WebP container spec). */
const VP8X_ALPHA = 0x10;
const VP8X_EXIF = 0x08;

/** Lossy (VP8), lossless (VP8L) or extended (VP8X) WebP; an extended file with EXIF is left to sharp. */
function readWebp(bytes: Uint8Array): ImageHeader | undefined {
  const dv = view(bytes);
  const chunk = ascii(bytes, 12, 4);
  const data = 20;
  let width: number;
  let height: number;
  let alpha: boolean;
  if (chunk === 'VP8 ') {
    // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height (2 scaling bits above each).
    if (bytes[data + 3] !== 0x9d || bytes[data + 4] !== 0x01 || bytes[data + 5] !== 0x2a) return undefined;
    width = dv.getUint16(data + 6, true) & 0x3fff;
    height = dv.getUint16(data + 8, true) & 0x3fff;
    alpha = false;
  } else if (chunk === 'VP8L') {
    if (bytes[data] !== 0x2f) return undefined;
    const bits = dv.getUint32(data + 1, true);
    width = (bits & 0x3fff) + 1;
    height = ((bits >>> 14) & 0x3fff) + 1;
    alpha = ((bits >>> 28) & 1) === 1;
  } else if (chunk === 'VP8X') {
    const flags = bytes[data]!;
    if ((flags & VP8X_EXIF) !== 0) return undefined;
    width = (dv.getUint32(data + 4, true) & 0xffffff) + 1;
    height = (dv.getUint32(data + 7, true) & 0xffffff) + 1;
    alpha = (flags & VP8X_ALPHA) !== 0;
  } else {
    return undefined;
  }
  if (width === 0 || height === 0) return undefined;
  return { format: 'webp', width, height, channels: alpha ? 4 : 3, depth: 'uchar', isProgressive: false };
}

// ---- GIF -----------------------------------------------------------------------------------------------------

/**
 * The logical screen size, and whether any frame has a transparent colour (libvips then loads RGBA, else RGB):
 * walks every block, skipping image data sub-blocks without decoding them. A frame that does not cover the
 * whole screen is left to sharp (libnsgif's rule for what shows through is not restated here).
 */
function readGif(bytes: Uint8Array): ImageHeader | undefined {
  const dv = view(bytes);
  const width = dv.getUint16(6, true);
  const height = dv.getUint16(8, true);
  if (width === 0 || height === 0) return undefined;
  const colourTable = (packed: number): number => ((packed & 0x80) !== 0 ? 3 << ((packed & 0x07) + 1) : 0);
  let at = 13 + colourTable(bytes[10]!);
  let transparent = false;
  // Past the end, `bytes[at]` is undefined: the walk stops there (the loop below then answers undefined).
  const skipSubBlocks = (): void => {
    for (let size = bytes[at]; size !== 0; size = bytes[at]) {
      if (size === undefined) return;
      at += size + 1;
    }
    at++;
  };
  for (;;) {
    const block = bytes[at];
    if (block === 0x3b) break; // trailer
    if (block === 0x21) {
      if (bytes[at + 1] === 0xf9 && (bytes[at + 3]! & 0x01) !== 0) transparent = true;
      at += 2;
      skipSubBlocks();
    } else if (block === 0x2c) {
      const left = dv.getUint16(at + 1, true);
      const top = dv.getUint16(at + 3, true);
      if (
        left !== 0 ||
        top !== 0 ||
        dv.getUint16(at + 5, true) !== width ||
        dv.getUint16(at + 7, true) !== height
      ) {
        return undefined;
      }
      at += 10 + colourTable(bytes[at + 9]!) + 1; // descriptor, local colour table, LZW code size
      skipSubBlocks();
    } else {
      return undefined; // truncated (no trailer) or not a block
    }
    if (at > bytes.length) return undefined;
  }
  return {
    format: 'gif',
    width,
    height,
    channels: transparent ? 4 : 3,
    depth: 'uchar',
    isProgressive: false,
  };
}
