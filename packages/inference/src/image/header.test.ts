import { crc32 } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { describe, expect, it } from 'vitest';
import { photoNames, readPhoto } from '../../../../test/fixtures/index.ts';
import { hostileCases, readHostile, writeHostileCorpus } from '../../../../test/fixtures/hostile/index.ts';
import { estimateDecodeBytes, type ImageHeader } from './decode-memory.ts';
import { readImageHeader } from './header.ts';

/** What the decode-memory estimate reads from sharp's metadata, in the reader's shape. */
async function sharpHeader(bytes: Uint8Array): Promise<ImageHeader> {
  const m = await sharp(bytes, { limitInputPixels: false, pages: 1 }).metadata();
  return {
    format: m.format,
    width: m.width,
    // With `pages: 1` sharp loads one frame: its height is the frame's.
    height: m.pageHeight ?? m.height,
    channels: m.channels,
    depth: m.depth,
    isProgressive: m.isProgressive,
    ...(m.chromaSubsampling !== undefined ? { chromaSubsampling: m.chromaSubsampling } : {}),
    ...(m.orientation !== undefined ? { orientation: m.orientation } : {}),
  };
}

const chelsea = (): Buffer => readPhoto('chelsea'); // 451x300 RGB JPEG
const rgba = (): Sharp =>
  sharp(chelsea())
    .resize(120, 80)
    .ensureAlpha()
    .composite([
      {
        input: Buffer.from([0, 0, 0, 0]),
        raw: { width: 1, height: 1, channels: 4 },
        tile: true,
        blend: 'dest-in',
      },
    ]);

/** One channel: sharp's greyscale() alone keeps three. */
const grey = (): Sharp => sharp(chelsea()).toColourspace('b-w');

/** Three 60x60 frames joined as an animation. */
const animated = (): Sharp =>
  sharp([chelsea(), chelsea(), chelsea()], { join: { animated: true } }).resize(60, 60);

/** Inserts a chunk right after IHDR (sharp writes no tRNS for grey or RGB images). */
function withPngChunk(png: Buffer, type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  body.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(body), 8 + data.length);
  const afterIhdr = 8 + 8 + 13 + 4;
  return Buffer.concat([png.subarray(0, afterIhdr), chunk, png.subarray(afterIhdr)]);
}

/** Images the reader must read exactly as sharp does (each builder: a few lines of sharp). */
const readable: [string, () => Promise<Buffer> | Buffer][] = [
  ...photoNames.map((name): [string, () => Buffer] => [`fixture photo ${name}`, () => readPhoto(name)]),
  ['JPEG baseline 4:2:0', () => sharp(chelsea()).jpeg().toBuffer()],
  ['JPEG baseline 4:4:4', () => sharp(chelsea()).jpeg({ chromaSubsampling: '4:4:4' }).toBuffer()],
  ['JPEG progressive 4:2:0', () => sharp(chelsea()).jpeg({ progressive: true }).toBuffer()],
  [
    'JPEG progressive 4:4:4',
    () => sharp(chelsea()).jpeg({ progressive: true, chromaSubsampling: '4:4:4' }).toBuffer(),
  ],
  ['JPEG greyscale', () => sharp(chelsea()).greyscale().jpeg().toBuffer()],
  ['JPEG CMYK', () => sharp(chelsea()).toColourspace('cmyk').jpeg().toBuffer()],
  ['JPEG with EXIF orientation 6', () => sharp(chelsea()).jpeg().withMetadata({ orientation: 6 }).toBuffer()],
  ['JPEG with EXIF orientation 3', () => sharp(chelsea()).jpeg().withMetadata({ orientation: 3 }).toBuffer()],
  ['JPEG with EXIF but no orientation', () => sharp(chelsea()).jpeg().keepExif().toBuffer()],
  ['JPEG with ICC profile', () => sharp(chelsea()).jpeg().withIccProfile('p3').toBuffer()],
  ['JPEG mozjpeg (progressive, trellis)', () => sharp(chelsea()).jpeg({ mozjpeg: true }).toBuffer()],
  ['JPEG 4032x3024', () => sharp(chelsea()).resize(4032, 3024).jpeg().toBuffer()],
  ['PNG RGB', () => sharp(chelsea()).png().toBuffer()],
  ['PNG RGBA', () => rgba().png().toBuffer()],
  ['PNG grey', () => grey().png().toBuffer()],
  ['PNG grey + alpha', () => rgba().toColourspace('b-w').png().toBuffer()],
  ['PNG palette', () => sharp(chelsea()).png({ palette: true }).toBuffer()],
  ['PNG palette with transparency', () => rgba().png({ palette: true }).toBuffer()],
  ['PNG palette, 1 bit', () => sharp(chelsea()).png({ palette: true, colours: 2 }).toBuffer()],
  ['PNG 16-bit RGB', () => sharp(chelsea()).toColourspace('rgb16').png().toBuffer()],
  ['PNG interlaced (Adam7)', () => sharp(chelsea()).png({ progressive: true }).toBuffer()],
  [
    'PNG grey with tRNS',
    async () => withPngChunk(await grey().png().toBuffer(), 'tRNS', Buffer.from([0, 0])),
  ],
  [
    'PNG RGB with tRNS',
    async () => withPngChunk(await sharp(chelsea()).png().toBuffer(), 'tRNS', Buffer.alloc(6)),
  ],
  [
    'PNG RGB with a tRNS of the wrong length (ignored)',
    async () => withPngChunk(await sharp(chelsea()).png().toBuffer(), 'tRNS', Buffer.alloc(2)),
  ],
  ['WebP lossy (VP8)', () => sharp(chelsea()).webp().toBuffer()],
  ['WebP lossless (VP8L)', () => sharp(chelsea()).webp({ lossless: true }).toBuffer()],
  ['WebP lossy with alpha (VP8X)', () => rgba().webp().toBuffer()],
  ['WebP lossless with alpha', () => rgba().webp({ lossless: true }).toBuffer()],
  ['WebP 4000x3000', () => sharp(chelsea()).resize(4000, 3000).webp().toBuffer()],
  ['WebP animated (3 frames)', () => animated().webp().toBuffer()],
  ['GIF animated (3 frames)', () => animated().gif().toBuffer()],
  ['GIF', () => sharp(chelsea()).gif().toBuffer()],
  ['GIF with transparency', () => rgba().gif().toBuffer()],
];

/** Images the reader leaves to sharp (undefined): other formats, and EXIF outside JPEG. */
const leftToSharp: [string, () => Promise<Buffer>][] = [
  ['TIFF', () => sharp(chelsea()).tiff().toBuffer()],
  ['AVIF', () => sharp(chelsea()).resize(64).avif().toBuffer()],
  ['WebP with EXIF orientation', () => sharp(chelsea()).webp().withMetadata({ orientation: 6 }).toBuffer()],
  ['PNG with EXIF (eXIf chunk)', () => sharp(chelsea()).png().withMetadata({ orientation: 6 }).toBuffer()],
  ['JPEG 12-bit precision (header patched)', () => sharp(chelsea()).jpeg().toBuffer().then(patchPrecision)],
];

/** Sets the SOF precision byte to 12 (sharp's libjpeg is 8-bit: it refuses such a file). */
function patchPrecision(jpeg: Buffer): Buffer {
  const out = Buffer.from(jpeg);
  for (let i = 2; i < out.length - 1; i++) {
    if (out[i] === 0xff && out[i + 1] === 0xc0) {
      out[i + 4] = 12;
      return out;
    }
  }
  throw new Error('no SOF0');
}

const MODELS = [
  { width: 416, height: 416, fit: 'fill' as const },
  { width: 224, height: 224, fit: 'fill' as const },
];

describe('readImageHeader', () => {
  it.each(readable)('%s: the fields sharp.metadata() reports', async (_name, build) => {
    const bytes = await build();
    const expected = await sharpHeader(bytes);
    const header = readImageHeader(bytes);
    expect(header).toEqual(expected);
    // And so the same decode-memory estimate, shrunk and full size.
    for (const shrink of [true, false]) {
      expect(estimateDecodeBytes(header!, MODELS, shrink)).toBe(
        estimateDecodeBytes(expected, MODELS, shrink),
      );
    }
  });

  it.each(leftToSharp)('%s: undefined (sharp reads it)', async (_name, build) => {
    expect(readImageHeader(await build())).toBeUndefined();
  });

  it('never throws on any truncation of a readable image, nor on noise', async () => {
    const samples = [
      await sharp(chelsea()).jpeg().withMetadata({ orientation: 6 }).toBuffer(),
      await rgba().png({ palette: true }).toBuffer(),
      await rgba().webp().toBuffer(),
      await sharp(chelsea()).gif().toBuffer(),
    ];
    let read = 0;
    for (const bytes of samples) {
      for (let n = 0; n <= Math.min(bytes.length, 2048); n++) {
        if (readImageHeader(bytes.subarray(0, n)) !== undefined) read++;
      }
    }
    // Long enough prefixes hold the whole header; the rest answer undefined instead of throwing.
    expect(read).toBeGreaterThan(0);
    let seed = 7;
    const noise = Buffer.alloc(4096, 0).map(() => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
    expect(readImageHeader(noise)).toBeUndefined();
    expect(readImageHeader(new Uint8Array(0))).toBeUndefined();
  });

  it('hostile corpus: where sharp reads the header, the reader agrees or defers to it', async () => {
    const dir = await writeHostileCorpus();
    let compared = 0;
    for (const c of hostileCases) {
      const bytes = await readHostile(dir, c);
      const header = readImageHeader(bytes);
      const expected = await sharpHeader(bytes).catch(() => undefined);
      if (header !== undefined && expected !== undefined) {
        expect(header, c.name).toEqual(expected);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(0);
  });
});
