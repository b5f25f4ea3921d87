import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { manifestSchema, type ModelManifest } from '@labelq/models';
import { decodeImage } from './decode.ts';
import { resizeForModel, contentRect } from './resize.ts';
import { pixelsToTensor } from './tensor.ts';

function input(over: Partial<ModelManifest['input']> = {}): ModelManifest['input'] {
  const m = manifestSchema.parse({
    schemaVersion: 1,
    name: 't',
    version: '1',
    file: 't.onnx',
    sha256: '0'.repeat(64),
    source: 's',
    license: 'l',
    task: 'classify',
    input: { width: 2, height: 2, layout: 'NCHW', scale: 1, ...over },
    labels: ['a'],
    output: { activation: 'none' },
  });
  return m.input;
}

// A 2x2 image: row 0 = red (255,0,0), green (0,255,0); row 1 = blue (0,0,255), grey (10,20,30).
const PIXELS = new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]);

describe('pixelsToTensor', () => {
  it('NCHW RGB with scale only', () => {
    const t = pixelsToTensor(PIXELS, input({ layout: 'NCHW', scale: 1 }));
    expect(t.dims).toEqual([1, 3, 2, 2]);
    expect(Array.from(t.data)).toEqual([255, 0, 0, 10, 0, 255, 0, 20, 0, 0, 255, 30]);
  });

  it('NHWC RGB with scale only', () => {
    const t = pixelsToTensor(PIXELS, input({ layout: 'NHWC', scale: 1 }));
    expect(t.dims).toEqual([1, 2, 2, 3]);
    expect(Array.from(t.data)).toEqual(Array.from(PIXELS));
  });

  it('BGR with per-tensor-channel mean/std', () => {
    const t = pixelsToTensor(
      PIXELS,
      input({ layout: 'NCHW', channelOrder: 'BGR', scale: 1, mean: [1, 2, 3], std: [1, 2, 4] }),
    );
    // Channel 0 is blue: (b - 1) / 1; channel 1 green: (g - 2) / 2; channel 2 red: (r - 3) / 4.
    expect(Array.from(t.data)).toEqual([-1, -1, 254, 29, -1, 126.5, -1, 9, 63, -0.75, -0.75, 1.75]);
  });

  it('ImageNet normalisation with tolerance', () => {
    const mean = [0.485, 0.456, 0.406] as [number, number, number];
    const std = [0.229, 0.224, 0.225] as [number, number, number];
    const t = pixelsToTensor(PIXELS, input({ layout: 'NHWC', scale: 1 / 255, mean, std }));
    const expected = Array.from(PIXELS, (p, i) => (p / 255 - mean[i % 3]!) / std[i % 3]!);
    t.data.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
  });

  it('rejects a pixel buffer of the wrong size', () => {
    expect(() => pixelsToTensor(new Uint8Array(5), input())).toThrow(/expected 12 bytes/);
  });
});

describe('decode + resize + tensor on a known PNG', () => {
  it('gives exact values (nearest kernel, identity size) in both layouts', async () => {
    const png = await sharp(Buffer.from(PIXELS), { raw: { width: 2, height: 2, channels: 3 } })
      .png()
      .toBuffer();
    const decoded = await decodeImage(png, { maxInputPixels: 100 });
    expect(decoded).toMatchObject({ format: 'png', width: 2, height: 2 });
    expect(Array.from(decoded.data)).toEqual(Array.from(PIXELS));
    for (const layout of ['NCHW', 'NHWC'] as const) {
      const spec = input({ layout, scale: 1 / 255, kernel: 'nearest' });
      const { pixels } = await resizeForModel(decoded, spec);
      const t = pixelsToTensor(pixels, spec);
      const expected =
        layout === 'NHWC'
          ? Array.from(PIXELS, (p) => p / 255)
          : [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11].map((i) => PIXELS[i]! / 255);
      t.data.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    }
  });

  it('downscales a 4x4 of 2x2 blocks to 2x2 exactly with nearest', async () => {
    const big = new Uint8Array(4 * 4 * 3);
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 4; x++)
        big.set(
          PIXELS.subarray(((y >> 1) * 2 + (x >> 1)) * 3, ((y >> 1) * 2 + (x >> 1)) * 3 + 3),
          (y * 4 + x) * 3,
        );
    const png = await sharp(Buffer.from(big), { raw: { width: 4, height: 4, channels: 3 } })
      .png()
      .toBuffer();
    const decoded = await decodeImage(png, { maxInputPixels: 100 });
    const { pixels } = await resizeForModel(decoded, input({ kernel: 'nearest' }));
    expect(Array.from(pixels)).toEqual(Array.from(PIXELS));
  });
});

describe('EXIF orientation', () => {
  it('an orientation-6 JPEG decodes upright', async () => {
    // Upright 40x20: left half red, right half blue. Stored rotated 90° counter-clockwise, tagged orientation 6
    // (display = rotate 90° clockwise), as a phone camera would.
    const upright = Buffer.alloc(40 * 20 * 3);
    for (let i = 0; i < 40 * 20; i++) upright.set(i % 40 < 20 ? [255, 0, 0] : [0, 0, 255], i * 3);
    const stored = await sharp(upright, { raw: { width: 40, height: 20, channels: 3 } })
      .rotate(-90)
      .withMetadata({ orientation: 6 })
      .jpeg({ quality: 95 })
      .toBuffer();
    expect((await sharp(stored).metadata()).orientation).toBe(6);
    const decoded = await decodeImage(stored, { maxInputPixels: 10_000 });
    expect([decoded.width, decoded.height]).toEqual([40, 20]);
    const px = (x: number, y: number) =>
      Array.from(decoded.data.subarray((y * 40 + x) * 3, (y * 40 + x) * 3 + 3));
    expect(px(5, 10)[0]).toBeGreaterThan(200); // left is red
    expect(px(35, 10)[2]).toBeGreaterThan(200); // right is blue
  });
});

describe('contentRect', () => {
  const spec = (fit: 'fill' | 'contain' | 'cover') => input({ width: 100, height: 100, fit });
  it('maps each fit', () => {
    expect(contentRect(200, 100, spec('fill'))).toEqual({ x: 0, y: 0, width: 100, height: 100 });
    expect(contentRect(200, 100, spec('contain'))).toEqual({ x: 0, y: 25, width: 100, height: 50 });
    expect(contentRect(200, 100, spec('cover'))).toEqual({ x: -50, y: 0, width: 200, height: 100 });
  });
});
