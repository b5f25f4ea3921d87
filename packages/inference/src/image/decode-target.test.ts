import { describe, expect, it } from 'vitest';
import { DECODE_MARGIN, decodeTarget, requiredScale, type ModelInputSize } from './decode-target.ts';

const nanodet: ModelInputSize = { width: 416, height: 416, fit: 'fill' };
const nsfw: ModelInputSize = { width: 224, height: 224, fit: 'fill' };
const letterbox512: ModelInputSize = { width: 512, height: 512, fit: 'contain' };
const cover224: ModelInputSize = { width: 224, height: 224, fit: 'cover' };
const ocr: ModelInputSize = {
  width: 48,
  height: 320,
  fit: 'contain',
  decodeSize: { width: 1280, height: 1280 },
};

describe('requiredScale', () => {
  it.each([
    // fill: each axis stretched on its own, the short side (least shrunk axis) decides
    ['fill 4:3', nanodet, 4032, 3024, 416 / 3024],
    ['fill portrait', nanodet, 3024, 4032, 416 / 3024],
    // contain: one scale, the long side decides
    ['contain 4:3', letterbox512, 4032, 3024, 512 / 4032],
    // cover: one scale, the short side decides
    ['cover 4:3', cover224, 4032, 3024, 224 / 3024],
    // decodeSize replaces the tensor size: an OCR model reading 1280 px on the long side
    ['decodeSize', ocr, 4032, 3024, 1280 / 4032],
    ['panorama fill needs the full height', nanodet, 10_000, 300, 416 / 300],
  ])('%s', (_name, input, w, h, expected) => {
    expect(requiredScale(input, w, h)).toBeCloseTo(expected, 12);
  });
});

describe('decodeTarget', () => {
  const m = DECODE_MARGIN;
  it.each([
    ['no models: full size', [], 4032, 3024, undefined],
    ['12 MP, nanodet', [nanodet], 4032, 3024, { width: Math.ceil(4032 * (416 / 3024) * m), height: 624 }],
    ['12 MP, nsfw + nanodet: the larger need wins', [nsfw, nanodet], 4032, 3024, { width: 832, height: 624 }],
    ['portrait keeps its aspect', [nanodet], 3024, 4032, { width: 624, height: 832 }],
    ['letterboxed 512: long side', [letterbox512], 4032, 3024, { width: 768, height: 576 }],
    ['OCR decodeSize 1280 dominates', [nanodet, ocr], 4032, 3024, { width: 1920, height: 1440 }],
    ['small web image: already small enough, full size', [nanodet], 640, 480, undefined],
    ['exactly the need times the margin: full size', [nanodet], 624, 624, undefined],
    ['never upscales', [nanodet], 200, 100, undefined],
    ['panorama: the short side needs every row', [nanodet], 10_000, 300, undefined],
  ] as const)('%s', (_name, inputs, w, h, expected) => {
    expect(decodeTarget(inputs, w, h)).toEqual(expected);
  });

  it('every model still downscales from the target on both axes', () => {
    for (const [w, h] of [
      [4032, 3024],
      [3024, 4032],
      [1920, 1080],
      [5000, 1200],
      [777, 2999],
    ] as const) {
      for (const input of [nanodet, nsfw, letterbox512, cover224]) {
        const t = decodeTarget([input], w, h) ?? { width: w, height: h };
        const s = requiredScale(input, w, h);
        // The model samples w*s x h*s pixels of the original; the target has at least that many per axis.
        expect(t.width + 1e-6, `${w}x${h} ${input.fit}`).toBeGreaterThanOrEqual(Math.min(w, w * s));
        expect(t.height + 1e-6, `${w}x${h} ${input.fit}`).toBeGreaterThanOrEqual(Math.min(h, h * s));
      }
    }
  });
});
