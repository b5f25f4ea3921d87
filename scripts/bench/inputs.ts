// The benchmark's image set: the fixture photos, then synthetic 1920x1080 JPEGs derived from them, cached on disk.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { photoNames, photos } from '../../test/fixtures/index.ts';
import type { BenchImage } from './protocol.ts';

/** Bump when the generator changes so cached files are not reused. */
const GENERATOR_VERSION = 'v2';
const WIDTH = 1920;
const HEIGHT = 1080;
/**
 * Distinct renders. Images past this index are byte-level variants of an earlier render (a JPEG comment with
 * their index): same decode work, distinct bytes and ids, and a 5,000-image set takes seconds, not hours.
 */
export const UNIQUE_RENDERS = 200;
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
 * The first `count` images (fixture photos first, then synthetic ones) plus `warmup` extra synthetic images
 * used only for warm-up. Files are generated once into `<workDir>/images/<version>/` and reused. `keyPrefix`
 * is where the queue variants find them in S3.
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
  for (let i = 0; i < count; i++) {
    const fixture = i < photoNames.length ? photoNames[i] : undefined;
    const name = fixture !== undefined ? `${fixture}.jpg` : `synthetic-${String(i).padStart(5, '0')}.jpg`;
    const path = join(dir, name);
    const bytes = await ensureFile(path, async () => {
      if (fixture !== undefined) return readFile(photos[fixture]);
      if (i < UNIQUE_RENDERS) return syntheticJpeg(i);
      const original =
        images[photoNames.length + ((i - photoNames.length) % (UNIQUE_RENDERS - photoNames.length))]!;
      return withJpegComment(await readFile(original.path), `labelq-bench ${i}`);
    });
    images.push({ path, key: `${keyPrefix}images/${name}`, bytes });
    onProgress?.(i + 1, count + warmup);
  }
  const warm: BenchImage[] = [];
  for (let i = 0; i < warmup; i++) {
    const name = `warmup-${String(i).padStart(3, '0')}.jpg`;
    const path = join(dir, name);
    // Seeds far from the measured ones: warm-up images never duplicate a measured image.
    const bytes = await ensureFile(path, () => syntheticJpeg(1_000_000 + i));
    warm.push({ path, key: `${keyPrefix}warmup/${name}`, bytes });
    onProgress?.(count + i + 1, count + warmup);
  }
  return { images, warmup: warm, dir };
}
