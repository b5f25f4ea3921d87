// The benchmark's image set: a mix of classes (12 MP phone JPEGs, half EXIF-rotated; 2 MP JPEGs; web JPEGs; PNG
// with alpha; WebP) rendered from the fixture photos, cached on disk.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { photoNames, photos } from '../../test/fixtures/index.ts';
import type { BenchImage } from './protocol.ts';

/** Bump when the generator changes so cached files are not reused. */
const GENERATOR_VERSION = 'v3';
const WIDTH = 1920;
const HEIGHT = 1080;
/**
 * Distinct renders per JPEG class. Images past this index are byte-level variants of an earlier render (a JPEG
 * comment with their index): same decode work, distinct bytes and ids, and a 5,000-image set takes minutes.
 */
export const UNIQUE_RENDERS = 40;
const POSITIONS = ['centre', 'north', 'south', 'east', 'west', 'northeast', 'southwest'] as const;

let grain: Promise<Buffer> | undefined;

/** One shared film-grain layer (raw RGB, mid-grey + gaussian noise): real photos have sensor noise. */
function grainLayer(): Promise<Buffer> {
  grain ??= sharp({
    create: {
      width: WIDTH,
      height: HEIGHT,
      channels: 3,
      background: { r: 128, g: 128, b: 128 },
      noise: { type: 'gaussian', mean: 128, sigma: 10 },
    },
  })
    .raw()
    .toBuffer();
  return grain;
}

/**
 * A 1920x1080 JPEG derived from fixture photo `seed % 5`: a different crop, hue, brightness, saturation, grain
 * and quality per seed, so every image is distinct (distinct bytes, content-derived ids) yet photo-like.
 */
export async function syntheticJpeg(seed: number): Promise<Buffer> {
  const base = photos[photoNames[seed % photoNames.length]!];
  const layer = await grainLayer();
  // One libvips pipeline: resize, colour changes, grain overlay, JPEG encode.
  return sharp(base)
    .resize(WIDTH, HEIGHT, { fit: 'cover', position: POSITIONS[seed % POSITIONS.length] })
    .modulate({
      hue: (seed * 47) % 360,
      brightness: 0.85 + (seed % 7) * 0.05,
      saturation: 0.8 + (seed % 5) * 0.1,
    })
    .composite([{ input: layer, raw: { width: WIDTH, height: HEIGHT, channels: 3 }, blend: 'soft-light' }])
    .removeAlpha()
    .jpeg({ quality: 80 + (seed % 3) * 5, mozjpeg: false })
    .toBuffer();
}

/** `jpeg` with a COM segment carrying `text` inserted right after the SOI marker. */
export function withJpegComment(jpeg: Uint8Array, text: string): Buffer {
  const payload = Buffer.from(text, 'latin1');
  const segment = Buffer.alloc(4 + payload.length);
  segment.writeUInt16BE(0xfffe, 0);
  segment.writeUInt16BE(payload.length + 2, 2);
  payload.copy(segment, 4);
  return Buffer.concat([jpeg.subarray(0, 2), segment, jpeg.subarray(2)]);
}

async function ensureFile(path: string, make: () => Promise<Buffer>): Promise<number> {
  if (existsSync(path)) return (await stat(path)).size;
  const bytes = await make();
  // Write then rename: an interrupted or concurrent run never leaves a truncated JPEG in the cache.
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
  return bytes.length;
}

export interface ImageSet {
  images: BenchImage[];
  warmup: BenchImage[];
  /** Folder the files live in. */
  dir: string;
}

/**
 * The image classes of the mix, in run order (each runs as one contiguous block so its throughput and peak RSS
 * can be read off the completions): what real uploads look like.
 */
export const IMAGE_CLASSES = ['jpeg-12mp', 'jpeg-2mp', 'jpeg-web', 'png-alpha', 'webp'] as const;
export type ImageClass = (typeof IMAGE_CLASSES)[number];

interface ClassSpec {
  width: number;
  height: number;
  ext: string;
}

const CLASS_SPECS: Record<ImageClass, ClassSpec> = {
  /** A phone photo: 4032x3024 (12 MP); every other one stored rotated with EXIF orientation 6, as phones do. */
  'jpeg-12mp': { width: 4032, height: 3024, ext: 'jpg' },
  /** 1920x1080 (2 MP), what the benchmark used alone before the mix. */
  'jpeg-2mp': { width: 1920, height: 1080, ext: 'jpg' },
  /** 640x480 (0.3 MP) web image. */
  'jpeg-web': { width: 640, height: 480, ext: 'jpg' },
  /** A 1440x900 screenshot-like PNG with alpha: the photo on a partly transparent canvas. */
  'png-alpha': { width: 1440, height: 900, ext: 'png' },
  /** 1600x1200 (1.9 MP) WebP. */
  webp: { width: 1600, height: 1200, ext: 'webp' },
};

const grains = new Map<string, Promise<Buffer>>();

function grainOf(width: number, height: number): Promise<Buffer> {
  const key = `${width}x${height}`;
  let g = grains.get(key);
  if (g === undefined) {
    g = sharp({
      create: {
        width,
        height,
        channels: 3,
        background: { r: 128, g: 128, b: 128 },
        noise: { type: 'gaussian', mean: 128, sigma: 10 },
      },
    })
      .raw()
      .toBuffer();
    grains.set(key, g);
  }
  return g;
}

/** Image `seed` of class `cls`: a distinct, photo-like render of fixture photo `seed % 5` (see syntheticJpeg). */
export async function renderClass(cls: ImageClass, seed: number): Promise<Buffer> {
  const { width, height } = CLASS_SPECS[cls];
  const base = photos[photoNames[seed % photoNames.length]!];
  const inner =
    cls === 'png-alpha'
      ? { width: Math.round(width * 0.6), height: Math.round(height * 0.6) }
      : { width, height };
  const layer = await grainOf(inner.width, inner.height);
  const photo = sharp(base)
    .resize(inner.width, inner.height, { fit: 'cover', position: POSITIONS[seed % POSITIONS.length] })
    .modulate({
      hue: (seed * 47) % 360,
      brightness: 0.85 + (seed % 7) * 0.05,
      saturation: 0.8 + (seed % 5) * 0.1,
    })
    .composite([
      { input: layer, raw: { width: inner.width, height: inner.height, channels: 3 }, blend: 'soft-light' },
    ])
    .removeAlpha();
  switch (cls) {
    case 'jpeg-12mp': {
      const upright = await photo.jpeg({ quality: 90 }).toBuffer();
      if (seed % 2 === 0) return upright;
      // Stored rotated 90° counter-clockwise and tagged "rotate 90° clockwise to display" (orientation 6).
      return sharp(upright).rotate(-90).withMetadata({ orientation: 6 }).jpeg({ quality: 90 }).toBuffer();
    }
    case 'jpeg-2mp':
      return photo.jpeg({ quality: 80 + (seed % 3) * 5, mozjpeg: false }).toBuffer();
    case 'jpeg-web':
      return photo.jpeg({ quality: 75 }).toBuffer();
    case 'webp':
      return photo.webp({ quality: 80 }).toBuffer();
    case 'png-alpha': {
      const inset = await photo.png().toBuffer();
      return sharp({
        create: {
          width,
          height,
          channels: 4,
          background: { r: 240, g: 240, b: 245, alpha: (seed % 3) * 0.4 },
        },
      })
        .composite([
          {
            input: inset,
            left: Math.round((width - inner.width) / 2),
            top: Math.round((height - inner.height) / 2),
          },
        ])
        .png()
        .toBuffer();
    }
  }
}

/** How many of `count` images each class gets: as even as possible, earlier classes first. */
export function classCounts(count: number): Record<ImageClass, number> {
  const out = {} as Record<ImageClass, number>;
  IMAGE_CLASSES.forEach((c, i) => {
    out[c] = Math.floor(count / IMAGE_CLASSES.length) + (i < count % IMAGE_CLASSES.length ? 1 : 0);
  });
  return out;
}

/**
 * The measured mix: `count` images split evenly over {@link IMAGE_CLASSES}, class by class (jpeg-12mp first),
 * plus `warmup` 2 MP JPEGs used only for warm-up. Renders are cached in `<workDir>/images/<version>/`; past
 * {@link UNIQUE_RENDERS} per class, JPEGs are byte-level variants of an earlier render (a comment with their
 * index) and PNG/WebP renders are made with fresh seeds. `keyPrefix` is where the queue variants find them.
 */
export async function prepareImages(
  workDir: string,
  count: number,
  warmup: number,
  keyPrefix: string,
  onProgress?: (done: number, total: number) => void,
): Promise<ImageSet> {
  const dir = join(workDir, 'images', GENERATOR_VERSION);
  await mkdir(dir, { recursive: true });
  const images: BenchImage[] = [];
  const counts = classCounts(count);
  for (const cls of IMAGE_CLASSES) {
    const { ext } = CLASS_SPECS[cls];
    for (let i = 0; i < counts[cls]; i++) {
      const name = `${cls}-${String(i).padStart(5, '0')}.${ext}`;
      const path = join(dir, name);
      const bytes = await ensureFile(path, async () => {
        if (i < UNIQUE_RENDERS || ext !== 'jpg') return renderClass(cls, i);
        const original = join(dir, `${cls}-${String(i % UNIQUE_RENDERS).padStart(5, '0')}.${ext}`);
        return withJpegComment(await readFile(original), `labelq-bench ${i}`);
      });
      images.push({ path, key: `${keyPrefix}images/${name}`, bytes, imageClass: cls });
      onProgress?.(images.length, count + warmup);
    }
  }
  const warm: BenchImage[] = [];
  for (let i = 0; i < warmup; i++) {
    const name = `warmup-${String(i).padStart(3, '0')}.jpg`;
    const path = join(dir, name);
    // Seeds far from the measured ones: warm-up images never duplicate a measured image.
    const bytes = await ensureFile(path, () => syntheticJpeg(1_000_000 + i));
    warm.push({ path, key: `${keyPrefix}warmup/${name}`, bytes, imageClass: 'jpeg-2mp' });
    onProgress?.(count + i + 1, count + warmup);
  }
  return { images, warmup: warm, dir };
}
