// Image properties on real photos: the perceptual hash survives re-encoding and resizing and separates unrelated
// photos; the sharpness score separates the photos from blurred copies; brightness and colours on known images.
import sharp, { type Sharp } from 'sharp';
import { describe, expect, it } from 'vitest';
import { BLURRY_SHARPNESS, imagePropertiesSchema } from '@labelq/contracts';
import { hashDistance, imageProperties } from '@labelq/inference';
import { photoNames, photos, type PhotoName } from '../fixtures/index.ts';

async function pixels(image: Sharp): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await image
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Near-duplicate threshold the API uses by default (maxDistance 10 of 64 bits). */
const NEAR = 10;

describe('image properties', () => {
  const props = async (name: PhotoName) => imageProperties(await pixels(sharp(photos[name])));

  it.each(photoNames)(
    '%s: valid properties; a re-encoded, resized copy is a near duplicate',
    async (name) => {
      const original = await props(name);
      expect(imagePropertiesSchema.parse(original)).toEqual(original);
      const meta = await sharp(photos[name]).metadata();
      const copy = await sharp(photos[name])
        .resize(Math.round(meta.width * 0.6))
        .webp({ quality: 50 })
        .toBuffer();
      const copied = imageProperties(await pixels(sharp(copy)));
      expect(hashDistance(original.phash, copied.phash)).toBeLessThanOrEqual(6);
    },
  );

  it('unrelated photos are far apart (more than twice the near-duplicate threshold)', async () => {
    const hashes = await Promise.all(photoNames.map(async (n) => (await props(n)).phash));
    for (let i = 0; i < hashes.length; i++)
      for (let j = i + 1; j < hashes.length; j++)
        expect(hashDistance(hashes[i]!, hashes[j]!)).toBeGreaterThan(2 * NEAR);
  });

  it.each(photoNames)('%s is sharp; its Gaussian-blurred copy (sigma 3) is blurry', async (name) => {
    expect((await props(name)).sharpness).toBeGreaterThan(BLURRY_SHARPNESS);
    const blurred = imageProperties(await pixels(sharp(photos[name]).blur(3)));
    expect(blurred.sharpness).toBeLessThan(BLURRY_SHARPNESS);
  });

  it.each([
    ['black', { r: 0, g: 0, b: 0 }, 0, '#000000'],
    ['white', { r: 255, g: 255, b: 255 }, 1, '#ffffff'],
    [
      'red',
      { r: 230, g: 20, b: 20 },
      0.299 * (230 / 255) + 0.587 * (20 / 255) + 0.114 * (20 / 255),
      '#e61414',
    ],
  ] as const)('a %s image: brightness and its one colour', async (_name, background, brightness, hex) => {
    const p = imageProperties(
      await pixels(sharp({ create: { width: 300, height: 200, channels: 3, background } })),
    );
    expect(p.brightness).toBeCloseTo(brightness, 3);
    expect(p.colours).toEqual([{ hex, share: 1 }]);
    expect(p.sharpness).toBe(0);
  });

  it('handles images smaller than the hash thumbnail (1x1, 5x40)', async () => {
    for (const [width, height] of [
      [1, 1],
      [5, 40],
    ] as const) {
      const p = imageProperties(
        await pixels(sharp({ create: { width, height, channels: 3, background: '#336699' } })),
      );
      expect(imagePropertiesSchema.safeParse(p).success).toBe(true);
    }
  });

  it('reads 4-channel pixels when told the channel count', async () => {
    const rgb = await pixels(sharp(photos.rocket));
    const { data, info } = await sharp(photos.rocket)
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const rgba = imageProperties({ data, width: info.width, height: info.height, channels: 4 });
    expect(rgba).toEqual(imageProperties(rgb));
  });
});
