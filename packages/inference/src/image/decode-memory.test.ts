import { describe, expect, it } from 'vitest';
import { estimateDecodeBytes, type ImageHeader } from './decode-memory.ts';
import type { ModelInputSize } from './decode-target.ts';

const nanodet: ModelInputSize = { width: 416, height: 416, fit: 'fill' };
const nsfw: ModelInputSize = { width: 224, height: 224, fit: 'fill' };
const MODELS = [nanodet, nsfw];
const MB = 1e6;

function header(over: Partial<ImageHeader>): ImageHeader {
  return { format: 'jpeg', width: 4032, height: 3024, channels: 3, depth: 'uchar', ...over };
}

describe('estimateDecodeBytes', () => {
  // Anchors: peak RSS above baseline measured with sharp 0.35 (see decode-memory.ts), and what the estimate
  // must therefore at least cover; upper bounds keep it from starving ordinary images.
  it.each([
    ['12 MP baseline JPEG, shrunk', header({}), true, 1 * MB, 10 * MB],
    ['12 MP baseline JPEG, full size', header({}), false, 36 * MB, 45 * MB],
    [
      '12 MP progressive 4:2:0 JPEG keeps all coefficients even shrunk',
      header({ isProgressive: true, chromaSubsampling: '4:2:0' }),
      true,
      36 * MB,
      45 * MB,
    ],
    [
      '10000x10000 progressive 4:2:0 (measured ~200 MB at 8000x8000 -> scales to ~310 MB)',
      header({ width: 10_000, height: 10_000, isProgressive: true, chromaSubsampling: '4:2:0' }),
      true,
      300 * MB,
      330 * MB,
    ],
    [
      '8000x8000 progressive 4:4:4 (measured ~390 MB)',
      header({ width: 8000, height: 8000, isProgressive: true, chromaSubsampling: '4:4:4' }),
      true,
      384 * MB,
      420 * MB,
    ],
    [
      '8000x8000 WebP, shrunk (measured ~10 MB)',
      header({ format: 'webp', width: 8000, height: 8000 }),
      true,
      5 * MB,
      15 * MB,
    ],
    [
      '8000x8000 WebP, full size (measured ~520 MB)',
      header({ format: 'webp', width: 8000, height: 8000 }),
      false,
      500 * MB,
      560 * MB,
    ],
    [
      '8000x8000 PNG, shrunk (measured ~48 MB)',
      header({ format: 'png', width: 8000, height: 8000 }),
      true,
      45 * MB,
      60 * MB,
    ],
    [
      '8000x8000 interlaced PNG (measured ~230 MB)',
      header({ format: 'png', width: 8000, height: 8000, isProgressive: true }),
      true,
      192 * MB,
      240 * MB,
    ],
    [
      '16-bit RGBA TIFF counts channels and depth',
      header({ format: 'tiff', width: 4000, height: 4000, channels: 4, depth: 'ushort' }),
      true,
      128 * MB,
      140 * MB,
    ],
  ] as const)('%s', (_name, h, shrink, atLeast, atMost) => {
    const bytes = estimateDecodeBytes(h, MODELS, shrink);
    expect(bytes).toBeGreaterThanOrEqual(atLeast);
    expect(bytes).toBeLessThanOrEqual(atMost);
  });

  it('an EXIF-rotated twin gets about the same estimate (only the stored row width differs)', () => {
    const a = estimateDecodeBytes(header({}), MODELS);
    const b = estimateDecodeBytes(header({ width: 3024, height: 4032, orientation: 6 }), MODELS);
    expect(Math.abs(b - a) / a).toBeLessThan(0.2);
  });

  it('grows with the pixels, not with the compressed size', () => {
    const small = estimateDecodeBytes(header({ width: 1000, height: 1000, isProgressive: true }), MODELS);
    const big = estimateDecodeBytes(header({ width: 10_000, height: 10_000, isProgressive: true }), MODELS);
    expect(big / small).toBeGreaterThan(50);
  });
});
